using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.State;

// A service started with -RunAsUser reaches one run's folder and nothing else of the state directory (RunDelegation).
public sealed partial class StateDirectory
{
    /// <summary>
    /// The one run this process was given by its supervisor (<see cref="RunDelegation"/>), or null when it uses the whole
    /// state directory. With one, <see cref="Run"/> knows that run only and <see cref="EventsLogPath"/> is the run's own
    /// log, which the supervisor copies into the state directory's.
    /// </summary>
    public RunPaths? DelegatedRun { get; private init; }

    private static StateDirectory OpenDelegated(string root, RunPaths run)
    {
        // The folder is judged as the root would be: ours (the supervisor gave it to us) and writable by no one else.
        if (!OperatingSystem.IsWindows())
        {
            if (!FileStatus.TryLstat(Path.Combine(run.Directory, "."), out var folder) || !folder.IsDirectory)
            {
                throw new StateDirectoryException(run.Directory,
                    $"The run folder the supervisor passed ('{run.Directory}') cannot be reached. Start the service with Start-TrainingProcess -RunAsUser, which hands it over; run by hand, leave {RunDelegation.DelegatedVariable} unset.");
            }

            if (folder.Uid != Native.GetEffectiveUserId() || folder.IsGroupOrWorldWritable)
            {
                throw new StateDirectoryException(run.Directory,
                    $"The run folder the supervisor passed ('{run.Directory}') is not safe to use ({folder.Describe()}): it must be yours and writable by no one else.",
                    errorId: StateDirectoryException.UntrustedErrorId);
            }
        }

        return new StateDirectory(root) { DelegatedRun = run };
    }

    private static RunPaths RequireDelegated(RunPaths run, string runId) => runId == run.RunId
        ? run
        : throw new StateDirectoryException(run.Directory,
            $"This process was given run '{run.RunId}' only (it runs as another user, -RunAsUser), not '{runId}'.");
}
