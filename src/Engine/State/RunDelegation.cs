using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.State;

/// <summary>
/// A run handed to the user a service runs as (<c>-RunAsUser</c>): that user owns the run's folder and nothing else of
/// the state directory, which stays owner-only. The supervisor (root) hands the folder over before the first start and
/// passes it to the service as an open descriptor, so the service reaches its folder without being able to enter, list
/// or read anything above it; the service's events go to the run's own <c>events.jsonl</c>, from which the supervisor
/// copies them into the state directory's log under the name of the file's owner, as the kernel reports it.
/// </summary>
public static class RunDelegation
{
    /// <summary>Set to <c>1</c> by the supervisor when the service was given only its run's folder (<see cref="StateDirectory.DelegatedRun"/>).</summary>
    public const string DelegatedVariable = "STABILITY_RUN_DELEGATED";

    /// <summary>The run id the supervisor passes.</summary>
    public const string RunIdVariable = "STABILITY_RUN_ID";

    /// <summary>The run's folder the supervisor passes: with a delegated run, <see cref="DescriptorPath"/>.</summary>
    public const string RunDirectoryVariable = "STABILITY_RUN_DIR";

    /// <summary>The descriptor on which the service inherits its run's folder.</summary>
    public const int Descriptor = 9;

    /// <summary>The path through which a service reaches its run's folder by <see cref="Descriptor"/>; no folder above is looked up.</summary>
    public static string DescriptorPath { get; } = $"/proc/self/fd/{Descriptor}";

    /// <summary>The run this process was given, when its supervisor delegated one (<see cref="DelegatedVariable"/>); null otherwise.</summary>
    /// <exception cref="StateDirectoryException">The variables are incomplete or name an invalid run.</exception>
    public static RunPaths? FromEnvironment(Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        if (getEnvironment(DelegatedVariable) is not "1")
        {
            return null;
        }

        var runId = getEnvironment(RunIdVariable)?.Trim();
        var directory = getEnvironment(RunDirectoryVariable)?.Trim();
        if (!StateDirectory.IsValidRunId(runId) || string.IsNullOrEmpty(directory))
        {
            throw new StateDirectoryException(directory ?? "",
                $"{DelegatedVariable}=1 needs {RunIdVariable} (a valid run id) and {RunDirectoryVariable} (the run's folder); got '{runId}' and '{directory}'. They are set by the supervisor: start the service with Start-TrainingProcess -RunAsUser.");
        }

        return new RunPaths(runId!, directory);
    }

    /// <summary>
    /// Gives run <paramref name="runId"/>'s folder to <paramref name="account"/>, creating it when new: a folder still
    /// owned by root (never handed over, so no one else has written in it) is given over with everything in it; one
    /// the account owns already is left as it is. Links are never followed or given.
    /// </summary>
    /// <returns>The run's files.</returns>
    /// <exception cref="StateDirectoryException">The folder belongs to another user, or cannot be given.</exception>
    public static RunPaths HandOver(StateDirectory state, string runId, UserAccount account)
    {
        var run = state.EnsureRun(runId);
        if (!FileStatus.TryLstat(run.Directory, out var folder) || !folder.IsDirectory)
        {
            throw new StateDirectoryException(state.Root, $"The run folder '{run.Directory}' is not a folder ({(folder.Mode == 0 ? "missing" : folder.Describe())}); remove it, then start again.");
        }

        if (folder.Uid == account.Uid)
        {
            return run;
        }

        if (folder.Uid != Native.GetEffectiveUserId())
        {
            throw new StateDirectoryException(state.Root,
                $"The run folder '{run.Directory}' belongs to {SafeFile.UserName(folder.Uid)} (uid {folder.Uid}), not to '{account.Name}', who this service runs as. A run belongs to one user: start a new run (Start-TrainingProcess without -Resume or -RunId).");
        }

        try
        {
            // Only the supervisor's user has written here (the folder was never handed over): nothing can be swapped meanwhile.
            foreach (var entry in Directory.EnumerateFileSystemEntries(run.Directory, "*", SearchOption.AllDirectories))
            {
                if (FileStatus.TryLstat(entry, out var status) && (status.IsRegularFile || status.IsDirectory))
                {
                    FilePermissions.ChangeOwner(entry, account.Uid, account.Gid);
                }
            }

            FilePermissions.ChangeOwner(run.Directory, account.Uid, account.Gid);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateDirectoryException(state.Root, $"The run folder '{run.Directory}' could not be given to '{account.Name}': {ex.Message}. The supervisor must run as root for -RunAsUser.", ex);
        }

        return run;
    }
}
