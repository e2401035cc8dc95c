using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Supervision that heals itself (issue #22, first part): a service whose supervisor died while it ran is given a
/// replacement supervisor, which takes the running process back by pid and start time instead of killing it, and reads
/// on from its named output pipes. Every cmdlet call does this first, so the next command after a supervisor's death
/// finds the service supervised again, under the same pid, with nothing of its output lost.
/// </summary>
public sealed partial class ProcessManager
{
    /// <summary>How long a healer waits for another that holds the service's start lock (its replacement's launch takes well under this).</summary>
    private static readonly TimeSpan HealLockWait = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Launches a replacement supervisor for every local service whose supervisor is gone while its process still runs
    /// (and writes into named pipes, so it can be taken back), and waits, bounded, until each replacement has reported.
    /// A service that a start, a stop or another heal is busy with is left to it. Never throws for one service.
    /// </summary>
    /// <returns>The services a replacement took back, and the errors of those it could not.</returns>
    public async Task<IReadOnlyList<ServiceOutcome>> HealSupervisorsAsync(CancellationToken cancellationToken = default)
    {
        var outcomes = new List<ServiceOutcome>();
        if (!State.Exists || !OperatingSystem.IsLinux())
        {
            return outcomes;
        }

        foreach (var name in State.ListServices())
        {
            if (!NeedsReplacement(ReadStatus(name).Document))
            {
                continue;
            }

            try
            {
                if (await ReplaceSupervisorAsync(name, cancellationToken).ConfigureAwait(false) is { } info)
                {
                    outcomes.Add(new ServiceOutcome(name, info, null));
                }
            }
            catch (StabilityException ex)
            {
                outcomes.Add(new ServiceOutcome(name, null, ex));
            }
        }

        return outcomes;
    }

    private async Task<ServiceInfo?> ReplaceSupervisorAsync(string name, CancellationToken cancellationToken)
    {
        var spec = _store.Read<ServiceSpec>(State.ServiceSpecPath(name)).Document;
        if (spec is null || spec.Slurm is not null)
        {
            return null;
        }

        // The start lock orders this against a Start-* or another healer (the scanner, another command) at the same
        // moment: whoever has it acts, and a healer that waited finds the service taken back already. A start that holds
        // it longer is left to finish.
        FileLock startLock;
        try
        {
            startLock = await Task.Run(() => FileLock.Acquire(StartLockPath(State, name), HealLockWait, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (LockTimeoutException)
        {
            return null;
        }

        using var held = startLock;
        if (!NeedsReplacement(ReadStatus(name).Document))
        {
            return GetStatus(name);
        }

        try
        {
            // A supervisor killed a moment ago may hold its lock a little longer than it shows as dead.
            await ProbeSupervisorLockAsync(name, ReadStatus(name).Document, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceAlreadyRunningException)
        {
            return null;
        }

        using var launch = await _local.LaunchAsync(State, name, cancellationToken).ConfigureAwait(false);
        return await WaitForStartAsync(spec, launch, untilReady: false, progress: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A status of this host that says the service runs (or starts) with output pipes, whose supervisor is gone while its
    /// process, the very one by pid and start time, still runs.
    /// </summary>
    private bool NeedsReplacement(ProcessStatus? status) =>
        status is { Pid: > 0, PidStartTicks: not 0, OutputPipe: not null, Status: ServiceState.Running or ServiceState.Starting }
        && (status.Host is null || status.Host == Environment.MachineName)
        && LiveSupervisorIdentity(status) is null
        && new ProcessIdentity(status.Pid, status.PidStartTicks).IsAlive()
        && !ExitWatch.IsZombie(status.Pid);
}
