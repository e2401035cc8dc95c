using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Records what Slurm said of a service's job into its <c>slurm.json</c> (<see cref="SlurmJobRecord.JobState"/>,
/// <see cref="SlurmJobRecord.Reason"/>, <see cref="SlurmJobRecord.Node"/>, <see cref="SlurmJobRecord.ObservedAt"/>), for
/// readers that never call Slurm. Every command that asks Slurm anyway (the submit, a status query) records the answer;
/// nothing polls Slurm for it, so the record is as fresh as the last command, and says when that was.
/// </summary>
internal static class SlurmObservation
{
    /// <summary>An unchanged answer is recorded again after this long, so <see cref="SlurmJobRecord.ObservedAt"/> says the state still held then.</summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Writes <paramref name="job"/>'s state, pending reason and node into the record at <paramref name="path"/> when they differ
    /// from what it holds, or it last recorded them more than <see cref="RefreshAfter"/> ago. Nothing is written when the record
    /// is gone or belongs to another job (a new submit meanwhile). Never throws for the file: a status query must not fail
    /// because its note could not be written (locked, disk full); the next one tries again.
    /// </summary>
    /// <returns>The record as written, or null when nothing was.</returns>
    public static SlurmJobRecord? Record(StatusStore store, string path, SlurmJob job, DateTimeOffset now)
    {
        var reason = job.IsPending ? job.Reason : null;
        var node = job.BatchHost ?? job.NodeList;
        if (store.Read<SlurmJobRecord>(path).Document is not { } current || !IsDue(current, job, reason, node, now))
        {
            return null;
        }

        try
        {
            var changed = false;
            var written = store.Update<SlurmJobRecord>(path, existing =>
            {
                // Looked at again under the lock: another command may have recorded it, or submitted another job, meanwhile.
                if (existing is null || !IsDue(existing, job, reason, node, now))
                {
                    return existing!;
                }

                changed = true;
                return existing with { JobState = job.State, Reason = reason, Node = node, ObservedAt = now };
            });
            return changed ? written : null;
        }
        catch (ArgumentException)
        {
            // The record was removed between the read and the update: nothing to note it in.
            return null;
        }
        catch (Exception ex) when (ex is StatusWriteException or LockTimeoutException or CorruptDocumentException)
        {
            return null;
        }
    }

    /// <summary><see cref="Record(StatusStore, string, SlurmJob, DateTimeOffset)"/> for service <paramref name="service"/>'s record.</summary>
    public static SlurmJobRecord? Record(StatusStore store, StateDirectory state, string service, SlurmJob job, DateTimeOffset now) =>
        Record(store, SlurmLauncher.RecordPath(state, service), job, now);

    private static bool IsDue(SlurmJobRecord record, SlurmJob job, string? reason, string? node, DateTimeOffset now) =>
        record.JobId == job.JobId
        && (record.JobState != job.State || record.Reason != reason || record.Node != node
            || record.ObservedAt is not { } seen || now - seen >= RefreshAfter || now < seen);
}
