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
/// <para>The trainer (TorchSharp with libtorch, ~530 MB) ships as a package of its own, <c>StabilityTools.Trainer</c>:
/// when it is not under the hosts folder and <c>$STABILITY_HOSTS_DIR</c> is not set, it is looked for in that package
/// at this module's version, installed beside this module or under any folder of <c>$PSModulePath</c>.</para>
/// <para>A native host found without its owner's execute bit (a package is a zip, and an install may drop the bit) gets
/// it back, owner only, before it is returned.</para>
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

        var engineDirectory = EngineDirectory() ?? AppContext.BaseDirectory;
        return [Path.Combine(engineDirectory, "hosts")];
    }

    // The module loads the engine from its folder, so its location is there; in the native supervisor (which reaches
    // this through a replacement's launch, issue #22) it is empty and the supervisor passes its own path instead.
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file",
        Justification = "An empty location (a native or single-file host) reads as no folder; callers fall back to AppContext.BaseDirectory.")]
    private static string? EngineDirectory() =>
        typeof(HostLocator).Assembly.Location is { Length: > 0 } location ? Path.GetDirectoryName(location) : null;

    /// <summary>The package that carries the trainer host.</summary>
    public const string TrainerPackage = "StabilityTools.Trainer";

    /// <summary>
    /// This module's version (the engine's, which the build takes from the module manifest): the version of the trainer
    /// package it uses.
    /// </summary>
    public static string ModuleVersion { get; } = ReadModuleVersion();

    /// <summary>
    /// The folders where an installed trainer package at <see cref="ModuleVersion"/> may be, in order: beside this
    /// module (<c>Modules/StabilityTools/V</c> next to <c>Modules/StabilityTools.Trainer/V</c>), then under each folder
    /// of <c>$PSModulePath</c>.
    /// </summary>
    public static IReadOnlyList<string> TrainerPackageDirectories(Func<string, string?>? getEnvironment = null)
    {
        var roots = new List<string>();
        var engineDirectory = EngineDirectory();
        if (engineDirectory is not null)
        {
            roots.Add(Path.GetFullPath(Path.Combine(engineDirectory, "..", "..")));
        }

        var modulePath = (getEnvironment ?? Environment.GetEnvironmentVariable)("PSModulePath");
        roots.AddRange((modulePath ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(Path.IsPathFullyQualified));
        return roots.Select(r => Path.Combine(Path.TrimEndingDirectorySeparator(r), TrainerPackage, ModuleVersion))
            .Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The path of host <paramref name="host"/> (<c>supervisor</c>, <c>trainer</c> or <c>dashboard</c>).</summary>
    /// <exception cref="TrainerNotInstalledException">The trainer is asked for and neither the hosts folder nor an installed trainer package holds it.</exception>
    /// <exception cref="ConfigurationException">Another host is not in any folder searched (the message lists them), or a native host is not executable and cannot be made so.</exception>
    public static string Find(string host, Func<string, string?>? getEnvironment = null)
    {
        var assembly = $"stability-{host}.dll";
        var native = OperatingSystem.IsWindows() ? $"stability-{host}.exe" : $"stability-{host}";
        var directories = SearchDirectories(getEnvironment);
        var found = FindIn(directories, host, assembly, native);
        var overridden = !string.IsNullOrWhiteSpace((getEnvironment ?? Environment.GetEnvironmentVariable)(HostsDirectoryVariable));
        if (found is null && host == "trainer" && !overridden)
        {
            var packages = TrainerPackageDirectories(getEnvironment);
            found = FindIn(packages.Select(p => Path.Combine(p, "hosts")), host, assembly, native)
                ?? throw new TrainerNotInstalledException(TrainerPackage, ModuleVersion, [.. directories, .. packages]);
        }

        if (found is null)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, HostsDirectoryVariable,
                $"The {host} host ({assembly} or {native}) was not found in {string.Join(", ", directories.Select(d => $"'{d}'"))}. " +
                $"Reinstall the module, or point {HostsDirectoryVariable} at the folder that holds it."));
        }

        if (!found.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            EnsureExecutable(host, found);
        }

        return found;
    }

    private static string? FindIn(IEnumerable<string> directories, string host, string assembly, string native)
    {
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

        return null;
    }

    // A package is a zip: PSResourceGet's install may extract the native supervisor without its execute bit. The owner
    // gets it back (owner only: group and others keep what they had); anyone else is told what to run.
    private static void EnsureExecutable(string host, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if (mode.HasFlag(UnixFileMode.UserExecute))
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new ConfigurationException(new ConfigurationProblem(path, null, "mode",
                $"The {host} host '{path}' is not executable and this user cannot make it so ({ex.Message}). " +
                $"Run 'chmod u+x {path}' as its owner, or reinstall the module."), ex);
        }
    }

    private static string ReadModuleVersion()
    {
        var informational = typeof(HostLocator).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        // "0.1.0+<commit>": the commit is build metadata, not part of the package version.
        return informational?.Split('+')[0] is { Length: > 0 } version
            ? version
            : typeof(HostLocator).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
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
