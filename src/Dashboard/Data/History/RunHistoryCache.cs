using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>
/// The run histories the dashboard has been asked for, built on first use (never at start-up, so start-up does not grow
/// with the state directory's history) and bounded: past <see cref="MaxRuns"/> the least recently used is dropped and
/// would be indexed again if asked for again: from its saved index (<see cref="RunPaths.HistoryIndexPath"/>) and what was
/// appended since, or from its log when it has none.
/// </summary>
internal sealed class RunHistoryCache(StateDirectory state, ILogger? logger = null)
{
    /// <summary>
    /// Runs indexed at once. A metric of one kind takes at most 1,024 buckets of 72 bytes (74 KB), so a run of the built-in
    /// trainer's metrics about 0.5 MB, and the worst (32 names, both kinds) 4.7 MB: 32 runs stay under 150 MB.
    /// </summary>
    public const int MaxRuns = 32;

    private readonly ConcurrentDictionary<string, RunHistory> _runs = new(StringComparer.Ordinal);
    private readonly Lock _evictGate = new();

    /// <summary>Runs indexed now.</summary>
    public int Count => _runs.Count;

    /// <summary>The index of run <paramref name="runId"/> (a valid id; the run need not exist, its history is then empty).</summary>
    public RunHistory Get(string runId)
    {
        if (_runs.TryGetValue(runId, out var known))
        {
            return known;
        }

        var created = _runs.GetOrAdd(runId, id =>
        {
            var run = state.Run(id);
            return new RunHistory(run.MetricsLogPath, JsonLinesOptions.Default.RetainedFiles, run.HistoryIndexPath, logger);
        });
        if (_runs.Count > MaxRuns)
        {
            lock (_evictGate)
            {
                while (_runs.Count > MaxRuns && _runs.Where(r => r.Key != runId).MinBy(r => r.Value.LastUsed) is { Key: { } oldest })
                {
                    _runs.TryRemove(oldest, out _);
                }
            }
        }

        return created;
    }
}
