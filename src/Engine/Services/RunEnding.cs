using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// The supervisor's word on how a run ended when its program never said (issue #17): a <c>-FilePath</c> trainer that
/// reports nothing, or any trainer killed before it could write its end. Without it such a run would read
/// <c>created</c> or <c>running</c> forever, and lists, retention and <c>Wait-Training</c> would take it for live.
/// </summary>
public static class RunEnding
{
    /// <summary>The run state a service's final state stands for: completed, failed (fatal) or stopped; null for a state that is not final.</summary>
    public static string? RunStateFor(ServiceState final) => final switch
    {
        ServiceState.Completed => RunStates.Completed,
        ServiceState.Fatal => RunStates.Failed,
        ServiceState.Stopped => RunStates.Stopped,
        _ => null,
    };

    /// <summary>
    /// Records in <c>run.json</c> that run <paramref name="runId"/> ended as its service did, unless the trainer already
    /// recorded an end of its own during this supervision. Never creates a run that is not there.
    /// </summary>
    /// <param name="store">The store to read and write through.</param>
    /// <param name="state">The state directory.</param>
    /// <param name="runId">The run the service worked on.</param>
    /// <param name="final">The service's final state.</param>
    /// <param name="error">Why it ended, for a failed run (the supervisor's reason).</param>
    /// <param name="since">When this supervision began: an end recorded before it is an earlier attempt's, not this one's;
    /// also the start recorded for a run no trainer ever marked started.</param>
    /// <param name="now">The end time to record.</param>
    /// <returns>The run as now recorded, or null when nothing was written.</returns>
    public static TrainingRun? RecordUnreported(StatusStore store, StateDirectory state, string runId, ServiceState final, string? error,
        DateTimeOffset since, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(state);
        if (RunStateFor(final) is not { } ended)
        {
            return null;
        }

        var path = state.Run(runId).RunInfoPath;
        if (store.Read<TrainingRun>(path).Document is not { } current || Reported(current, since))
        {
            return null;
        }

        var changed = false;
        try
        {
            var run = store.Update<TrainingRun>(path, existing =>
            {
                // Looked at again under the lock: the trainer may have written its end meanwhile, or the run been removed.
                if (existing is null || Reported(existing, since))
                {
                    return existing!;
                }

                changed = true;
                return existing with
                {
                    State = ended,
                    Ended = now,
                    Started = existing.Started ?? since,
                    Attempts = Math.Max(existing.Attempts, 1),
                    ErrorMessage = ended == RunStates.Failed ? error ?? existing.ErrorMessage : existing.ErrorMessage,
                };
            });
            return changed ? run : null;
        }
        catch (ArgumentException)
        {
            // Removed between the read and the update (Remove-TrainingRun): the update returned null, nothing to record.
            return null;
        }
    }

    /// <summary>The trainer wrote an end during this supervision: its word stands.</summary>
    private static bool Reported(TrainingRun run, DateTimeOffset since) =>
        RunStates.IsFinished(run.State) && run.Ended is { } end && end >= since;
}
