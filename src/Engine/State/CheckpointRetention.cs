using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.State;

/// <summary>What a retention pass removed from one run: its checkpoint files and the bytes they held.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Files">How many checkpoint files were removed.</param>
/// <param name="Bytes">Their size in bytes.</param>
public sealed record PrunedRun(string RunId, int Files, long Bytes);

/// <summary>
/// Keeps the checkpoints of a service's newest N runs only (spec <c>checkpoint_retention_runs</c>, issue #17). A run's
/// checkpoints are the files named <c>ckpt-*</c> in its folder (the built-in trainer's <c>ckpt-e…-b….ckpt</c>) and
/// everything under its <c>checkpoints/</c> folder; its record, metrics and final model stay, so the run is still
/// listed and compared, only no longer resumable from where it stopped. A run that is not finished (created or
/// running: a queued Slurm job, a trainer that may be restarted) or that a live service works on is never touched.
/// </summary>
public static class CheckpointRetention
{
    /// <summary>The folder inside a run that holds checkpoints of trainers that keep them apart.</summary>
    public const string CheckpointsFolder = "checkpoints";

    /// <summary>The file-name prefix of checkpoints kept in the run folder itself.</summary>
    public const string CheckpointPrefix = "ckpt-";

    /// <summary>
    /// Removes the checkpoints of <paramref name="service"/>'s finished runs older than its newest
    /// <paramref name="keep"/> runs (by creation), sparing <paramref name="inUse"/>.
    /// </summary>
    /// <returns>What was removed, oldest run first; runs without checkpoints are left out.</returns>
    /// <exception cref="IOException">A file could not be removed (what was removed before stays removed).</exception>
    public static IReadOnlyList<PrunedRun> Prune(StateDirectory state, StatusStore store, string service, int keep, IReadOnlySet<string> inUse)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var runs = state.ListRunIds()
            .Select(id => store.Read<TrainingRun>(state.Run(id).RunInfoPath).Document)
            .OfType<TrainingRun>()
            .Where(r => string.Equals(r.Service, service, StringComparison.Ordinal))
            .OrderBy(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal)
            .ToList();
        var pruned = new List<PrunedRun>();
        foreach (var run in runs.Take(Math.Max(0, runs.Count - keep)))
        {
            if (!RunStates.IsFinished(run.State) || inUse.Contains(run.RunId))
            {
                continue;
            }

            if (RemoveCheckpoints(state.Run(run.RunId).Directory) is { Files: > 0 } removed)
            {
                pruned.Add(removed with { RunId = run.RunId });
            }
        }

        return pruned;
    }

    private static PrunedRun RemoveCheckpoints(string runDirectory)
    {
        var (files, bytes) = (0, 0L);
        // Top level only, and lstat-based: a link named ckpt-* is removed as a link, never followed.
        foreach (var entry in new DirectoryInfo(runDirectory).EnumerateFileSystemInfos(CheckpointPrefix + "*"))
        {
            if (entry is FileInfo file)
            {
                bytes += file.LinkTarget is null ? file.Length : 0;
                file.Delete();
                files++;
            }
        }

        var folder = new DirectoryInfo(Path.Combine(runDirectory, CheckpointsFolder));
        if (folder.Exists)
        {
            if (folder.LinkTarget is not null)
            {
                // A link where the folder should be: remove the link, not what it points to.
                folder.Delete();
                return new PrunedRun("", files + 1, bytes);
            }

            foreach (var file in folder.EnumerateFiles("*", SearchOption.AllDirectories))
            {
                bytes += file.LinkTarget is null ? file.Length : 0;
                files++;
            }

            // Recursive delete removes links inside as links (it does not descend into them).
            folder.Delete(recursive: true);
        }

        return new PrunedRun("", files, bytes);
    }
}
