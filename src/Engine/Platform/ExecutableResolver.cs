namespace StabilityTools.Engine.Platform;

/// <summary>Finds a program the way a shell would: a path as given, a bare name on PATH.</summary>
public static class ExecutableResolver
{
    /// <summary>The full path of <paramref name="program"/>, or null when it does not exist or (Unix) is not executable.</summary>
    public static string? Resolve(string program, Func<string, string?>? getEnvironment = null)
    {
        if (string.IsNullOrWhiteSpace(program))
        {
            return null;
        }

        if (program.Contains(Path.DirectorySeparatorChar) || program.Contains(Path.AltDirectorySeparatorChar))
        {
            var full = Path.GetFullPath(program);
            return IsExecutable(full) ? full : null;
        }

        var path = (getEnvironment ?? Environment.GetEnvironmentVariable)("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (IsExecutable(candidate))
            {
                return candidate;
            }

            if (OperatingSystem.IsWindows() && IsExecutable(candidate + ".exe"))
            {
                return candidate + ".exe";
            }
        }

        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
