using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.State;

/// <summary>
/// The state directory: the one source of truth that every process and cmdlet reads and writes
/// (docs/status-files.md). Knows the layout; creates what it needs with owner-only permissions.
/// </summary>
public sealed partial class StateDirectory
{
    /// <summary>The environment variable that names the state directory when no explicit path is given.</summary>
    public const string HomeVariable = "STABILITY_HOME";

    private StateDirectory(string root) => Root = root;

    /// <summary>The absolute path of the state directory.</summary>
    public string Root { get; }

    /// <summary>
    /// Resolves the root: <paramref name="explicitPath"/>, else <c>$STABILITY_HOME</c>, else
    /// <c>$XDG_STATE_HOME/stability-tools</c> (<c>~/.local/state/stability-tools</c> when unset) on Unix,
    /// <c>%LOCALAPPDATA%\StabilityTools</c> on Windows.
    /// </summary>
    /// <param name="explicitPath">A path given by the caller, e.g. <c>-StateDirectory</c>.</param>
    /// <param name="getEnvironment">Reads an environment variable; defaults to the process environment.</param>
    public static string ResolveRoot(string? explicitPath = null, Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return Path.GetFullPath(explicitPath);
        }

        if (getEnvironment(HomeVariable) is { Length: > 0 } home)
        {
            return Path.GetFullPath(home);
        }

        if (OperatingSystem.IsWindows())
        {
            var local = getEnvironment("LOCALAPPDATA") is { Length: > 0 } l
                ? l
                : Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return Path.GetFullPath(Path.Combine(local, "StabilityTools"));
        }

        if (getEnvironment("XDG_STATE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg))
        {
            return Path.GetFullPath(Path.Combine(xdg, "stability-tools"));
        }

        var userHome = getEnvironment("HOME") is { Length: > 0 } h
            ? h
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.GetFullPath(Path.Combine(userHome, ".local", "state", "stability-tools"));
    }

    /// <summary>
    /// Resolves the root (see <see cref="ResolveRoot"/>) and makes sure it and its fixed subdirectories
    /// exist with owner-only permissions and can be written.
    /// </summary>
    /// <exception cref="StateDirectoryException">The directory cannot be created or written.</exception>
    /// <exception cref="StateDirectoryException">The directory cannot be created or written, or it is not safe to use (<see cref="StateTrust"/>; error id <c>StateDirectoryUntrusted</c>).</exception>
    public static StateDirectory Open(string? explicitPath = null, Func<string, string?>? getEnvironment = null)
    {
        if (RunDelegation.FromEnvironment(getEnvironment) is { } delegated)
        {
            return OpenDelegated(ResolveRoot(explicitPath, getEnvironment), delegated);
        }

        var state = new StateDirectory(ResolveRoot(explicitPath, getEnvironment));
        state.EnsureTrusted();
        state.EnsureLayout();
        return state;
    }

    /// <summary>
    /// Resolves the root without creating anything, for read-only callers (a status query must not
    /// create a state directory as a side effect).
    /// </summary>
    public static StateDirectory Locate(string? explicitPath = null, Func<string, string?>? getEnvironment = null) =>
        new(ResolveRoot(explicitPath, getEnvironment));

    /// <summary>Judges whether this directory may be used (who owns it and its folders, who can write them); changes nothing.</summary>
    public TrustVerdict Trust => StateTrust.Check(Root);

    /// <summary>Returns this directory when it is safe to use (or does not exist yet).</summary>
    /// <exception cref="StateDirectoryException">It is not (error id <c>StateDirectoryUntrusted</c>); the message names the folder, its owner and mode, and the fix.</exception>
    public StateDirectory EnsureTrusted()
    {
        var verdict = Trust;
        return verdict.IsTrusted
            ? this
            : throw new StateDirectoryException(Root,
                $"The state directory '{Root}' is not safe to use: '{verdict.Path}' {verdict.Reason}. Whoever can write it can make the product run their commands as you. Fix: {verdict.Fix}.",
                errorId: StateDirectoryException.UntrustedErrorId);
    }

    /// <summary>True when the root exists.</summary>
    public bool Exists => Directory.Exists(Root);

    /// <summary><c>services/</c>.</summary>
    public string ServicesDirectory => Path.Combine(Root, "services");

    /// <summary><c>data/</c>.</summary>
    public string DataDirectory => Path.Combine(Root, "data");

    /// <summary><c>resources/</c>.</summary>
    public string ResourcesDirectory => Path.Combine(Root, "resources");

    /// <summary><c>models/</c>: the layout before runs (checkpoints by run); moved to <see cref="RunsDirectory"/> on first use.</summary>
    public string ModelsDirectory => Path.Combine(Root, "models");

    /// <summary><c>data/dashboard_state.json</c>: the state document of the dashboard named <c>dashboard</c> (the default).</summary>
    public string DashboardStatePath => Path.Combine(DataDirectory, "dashboard_state.json");

    /// <summary>
    /// The state document's file name of dashboard <paramref name="name"/>: <c>dashboard_state.json</c> for the default
    /// name <c>dashboard</c> (the name every earlier version wrote), <c>dashboard_state.&lt;name&gt;.json</c> for any other,
    /// so several dashboards can serve one state directory.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a valid service name.</exception>
    public static string DashboardStateFileName(string name) =>
        ValidateServiceName(name) == "dashboard" ? "dashboard_state.json" : $"dashboard_state.{name}.json";

    /// <summary><c>data/</c> + <see cref="DashboardStateFileName"/>.</summary>
    /// <exception cref="ArgumentException">The name is not a valid service name.</exception>
    public string DashboardStatePathFor(string name) => Path.Combine(DataDirectory, DashboardStateFileName(name));

    /// <summary>The state documents of every dashboard that wrote one here, by dashboard name, sorted.</summary>
    public IReadOnlyList<(string Name, string Path)> ListDashboardStates()
    {
        if (!Directory.Exists(DataDirectory))
        {
            return [];
        }

        var found = new List<(string, string)>();
        foreach (var path in Directory.EnumerateFiles(DataDirectory, "dashboard_state*.json"))
        {
            var file = Path.GetFileName(path);
            var name = file == "dashboard_state.json" ? "dashboard" : file["dashboard_state.".Length..^".json".Length];
            if (IsValidServiceName(name) && DashboardStateFileName(name) == file)
            {
                found.Add((name, path));
            }
        }

        return [.. found.OrderBy(f => f.Item1, StringComparer.Ordinal)];
    }

    /// <summary><c>resources/quotas.json</c>.</summary>
    public string QuotasPath => Path.Combine(ResourcesDirectory, "quotas.json");

    /// <summary><c>events.jsonl</c>.</summary>
    public string EventsLogPath => DelegatedRun is { } run ? Path.Combine(run.Directory, "events.jsonl") : Path.Combine(Root, "events.jsonl");

    /// <summary><c>services/&lt;name&gt;/</c>.</summary>
    /// <exception cref="ArgumentException">The name is not a valid service name.</exception>
    public string ServiceDirectory(string name) => Path.Combine(ServicesDirectory, ValidateServiceName(name));

    /// <summary><c>services/&lt;name&gt;/spec.json</c>.</summary>
    public string ServiceSpecPath(string name) => Path.Combine(ServiceDirectory(name), "spec.json");

    /// <summary><c>services/&lt;name&gt;/status.json</c>.</summary>
    public string ServiceStatusPath(string name) => Path.Combine(ServiceDirectory(name), "status.json");

    /// <summary>
    /// <c>services/&lt;name&gt;/previous_status.json</c>: the last status.json of a supervisor that died at its post,
    /// kept by the <c>Start-*</c> that replaces it for the new supervisor, which reports <c>supervisor_replaced</c> and removes it.
    /// </summary>
    public string ServicePreviousStatusPath(string name) => Path.Combine(ServiceDirectory(name), "previous_status.json");

    /// <summary><c>services/&lt;name&gt;/control.json</c>.</summary>
    public string ServiceControlPath(string name) => Path.Combine(ServiceDirectory(name), "control.json");

    /// <summary><c>services/&lt;name&gt;/logs/</c>.</summary>
    public string ServiceLogDirectory(string name) => Path.Combine(ServiceDirectory(name), "logs");

    /// <summary>Creates <c>services/&lt;name&gt;/logs/</c> (and the service directory) with owner-only permissions.</summary>
    /// <exception cref="StateDirectoryException">The directory cannot be created.</exception>
    public string EnsureServiceDirectory(string name)
    {
        var dir = ServiceDirectory(name);
        CreateChecked(dir);
        CreateChecked(ServiceLogDirectory(name));
        return dir;
    }

    /// <summary>The names of the services that have a directory here, sorted.</summary>
    public IReadOnlyList<string> ListServices()
    {
        if (!Directory.Exists(ServicesDirectory))
        {
            return [];
        }

        return Directory.EnumerateDirectories(ServicesDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsValidServiceName)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>True when <paramref name="name"/> is a valid service name: 1–63 characters of a–z, 0–9, '.', '_' and '-', starting with a letter or digit.</summary>
    public static bool IsValidServiceName(string? name) => ServiceName.IsValid(name);

    /// <summary>Returns <paramref name="name"/> when valid.</summary>
    /// <exception cref="ArgumentException">The name is not valid; the message says what is allowed.</exception>
    public static string ValidateServiceName(string name) => IsValidServiceName(name)
        ? name
        : throw new ArgumentException(
            $"'{name}' is not a valid service name: use 1 to 63 characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.",
            nameof(name));

    private void EnsureLayout()
    {
        CreateChecked(Root);
        CreateChecked(ServicesDirectory);
        CreateChecked(DataDirectory);
        CreateChecked(ResourcesDirectory);
        CreateChecked(RunsDirectory);
        ProbeWritable();
        LayoutMigration.MigrateIfNeeded(this);
    }

    private void CreateChecked(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                throw new StateDirectoryException(Root,
                    $"The state directory '{Root}' cannot be used: '{path}' is a file, not a directory. Remove it, or choose another state directory with -StateDirectory or {HomeVariable}.");
            }

            FilePermissions.CreateOwnerOnlyDirectory(path);
            // Narrow what the umask or an older version left wider (issue #13: folders were created 0755).
            if (!OperatingSystem.IsWindows() && FileStatus.TryLstat(path, out var status) && status.IsDirectory
                && SafeFile.IsTrustedOwner(status.Uid) && status.Uid == Native.GetEffectiveUserId() && (status.Permissions & 0x3F /* 077 */) != 0)
            {
                File.SetUnixFileMode(path, FilePermissions.OwnerOnlyDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateDirectoryException(Root,
                $"The state directory '{Root}' cannot be created ('{path}': {ex.Message}). Choose a writable one with -StateDirectory or {HomeVariable}, or fix its permissions.",
                ex);
        }
    }

    private void ProbeWritable()
    {
        // A unique name: runspaces of one process (ForEach-Object -Parallel) open state directories at once.
        var probe = SafeFile.TemporaryName(Path.Combine(Root, ".probe"));
        try
        {
            using (SafeFile.Open(probe, SafeFileMode.CreateNew, FileAccess.Write))
            {
            }

            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateDirectoryException(Root,
                $"The state directory '{Root}' is not writable ({ex.Message}). Choose a writable one with -StateDirectory or {HomeVariable}, or fix its permissions.",
                ex);
        }
    }
}
