using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Readiness for a service that says when it is up (<see cref="ServiceSpec.ReadyOnHeartbeat"/>, the trainer): the
/// first heartbeat in <c>data/training_status.json</c> that carries the run's own pid promotes the starting run to
/// running, instead of a fixed grace. It looks only while the run is starting, every <see cref="Interval"/>; a service
/// that beats none within its startup timeout is promoted then (hang detection judges it from its first heartbeat, as
/// before). It only posts messages; the loop decides.
/// </summary>
internal sealed class HeartbeatReadiness(StatusStore store, StateDirectory state, TimeProvider time, Action<SupervisorMessage> post)
{
    /// <summary>How often the trainer's status is read while the run is starting: the readiness latency it adds at most.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>Watches until the run is promoted or ends (<paramref name="cancellationToken"/>).</summary>
    public async Task RunAsync(ServiceRun run, ServiceSpec spec, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromMilliseconds(spec.StartupTimeoutMs);
        // The trainer reports in its run's folder (every start of a trainer has a run); without one only the deadline promotes.
        var statusPath = spec.RunId is { } runId ? state.Run(runId).TrainingStatusPath : null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if ((statusPath is not null && IsReady(store.Read<TrainingStatus>(statusPath).Document, run)) || time.GetUtcNow() > deadline)
                {
                    post(new SupervisorMessage.Promote(run));
                    return;
                }

                await Task.Delay(Interval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended first.
        }
    }

    /// <summary>
    /// A heartbeat of this run: its pid, beaten since it started (a reused pid's old document is older), and not the
    /// trainer's report of bad input, after which it exits at once (the exit decides, not a promotion).
    /// </summary>
    internal static bool IsReady(TrainingStatus? status, ServiceRun run) =>
        status is { Heartbeat: { } beat } && status.Pid == run.Pid && beat >= run.StartedAt - TimeSpan.FromSeconds(1)
        && status.State != TrainerState.Failed;
}
