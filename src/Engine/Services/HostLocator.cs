using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Finds the executables the module ships (<c>stability-supervisor</c>, <c>stability-trainer</c>,
/// <c>stability-dashboard</c>) and the <c>dotnet</c> host that runs them.
/// </summary>
/// <remarks>
/// The hosts folder is <c>$STABILITY_HOSTS_DIR</c> (a list separated like PATH, so tests can name several bin
/// folders), else <c>hosts/</c> beside the engine assembly. In each folder a host is looked for in
/// <c>&lt;host&gt;/</c>, then in the folder itself: first as <c>stability-&lt;host&gt;.dll</c> (a framework-dependent
/// build, run under <c>dotnet</c>; a build output also holds an apphost of the same name, which is not used), then as
/// the executable <c>stability-&lt;host&gt;</c> (<c>.exe</c> on Windows) with no .dll beside it: a native (AOT) build,
/// which is how the module ships the supervisor on Linux.
/// </remarks>
public static class HostLocator
{
    /// <summary>The variable that overrides the hosts folder.</summary>
    public const string HostsDirectoryVariable = "STABILITY_HOSTS_DIR";

    /// <summary>The folders searched for hosts, in order.</summary>
    public static IReadOnlyList<string> SearchDirectories(Func<string, string?>? getEnvironment = null)
    {
        var overridden = (getEnvironment ?? Environment.GetEnvironmentVariable)(HostsDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return overridden.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var engineDirectory = Path.GetDirectoryName(typeof(HostLocator).Assembly.Location) ?? AppContext.BaseDirectory;
        return [Path.Combine(engineDirectory, "hosts")];
    }

    /// <summary>The path of host <paramref name="host"/> (<c>supervisor</c>, <c>trainer</c> or <c>dashboard</c>).</summary>
    /// <exception cref="ConfigurationException">The host is not in any folder searched; the message lists them.</exception>
    public static string Find(string host, Func<string, string?>? getEnvironment = null)
    {
        var assembly = $"stability-{host}.dll";
        var native = OperatingSystem.IsWindows() ? $"stability-{host}.exe" : $"stability-{host}";
        var directories = SearchDirectories(getEnvironment);
        foreach (var directory in directories)
        {
            foreach (var folder in new[] { Path.Combine(directory, host), directory })
            {
                foreach (var candidate in new[] { Path.Combine(folder, assembly), Path.Combine(folder, native) })
                {
                    if (File.Exists(candidate))
                    {
                        return Path.GetFullPath(candidate);
                    }
                }
            }
        }

        throw new ConfigurationException(new ConfigurationProblem(null, null, HostsDirectoryVariable,
            $"The {host} host ({assembly} or {native}) was not found in {string.Join(", ", directories.Select(d => $"'{d}'"))}. " +
            $"Reinstall the module, or point {HostsDirectoryVariable} at the folder that holds it."));
    }

    /// <summary>
    /// The <c>dotnet</c> host: <c>$DOTNET_HOST_PATH</c>, else the running process when it is <c>dotnet</c> itself
    /// (pwsh as a .NET tool), else <c>dotnet</c> on PATH.
    /// </summary>
    public static string DotNetHost(Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        if (getEnvironment("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return ExecutableResolver.Resolve("dotnet", getEnvironment) ?? "dotnet";
    }

    /// <summary>The program and leading arguments that run <paramref name="hostPath"/>: a .dll under the dotnet host, anything else as is.</summary>
    public static (string Program, IReadOnlyList<string> Arguments) CommandFor(string hostPath) =>
        hostPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? (DotNetHost(), [hostPath]) : (hostPath, []);
}
