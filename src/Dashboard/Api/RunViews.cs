using System.Text.Json;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Data.History;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// Builds the runs API's views: the list from each run's <c>run.json</c> (the engine's <see cref="TrainingRuns"/>, which
/// re-parses only records that changed), histories from the bounded <see cref="RunHistoryCache"/>. Nothing here reads a
/// whole metrics log into memory.
/// </summary>
internal sealed class RunViews(DashboardData data, RunHistoryCache histories)
{
    /// <summary>The most settings a runs table shows per run.</summary>
    public const int MaxKeySettings = 16;

    private readonly TrainingRuns _runs = new(data.State);

    /// <summary>The runs passing <paramref name="filter"/>, sorted, one page of them.</summary>
    public RunListView List(RunFilter filter, string sort, bool descending, int offset, int limit)
    {
        var now = data.Time.GetUtcNow();
        var runs = _runs.List(filter);
        var keys = DifferingKeys(runs).Take(MaxKeySettings).ToList();
        var page = Sort(runs, sort, descending, now).Skip(offset).Take(limit).Select(r => Summary(r, now, keys)).ToList();
        return new RunListView(now, runs.Count, page.Count, keys, page);
    }

    /// <summary>One run in full; null when it has no readable record.</summary>
    public RunDetailView? Detail(string runId)
    {
        if (_runs.Read(runId).Document is not { } run)
        {
            return null;
        }

        var now = data.Time.GetUtcNow();
        var paths = data.State.Run(runId);
        var store = new StatusStore();
        var training = store.Read<TrainingStatus>(paths.TrainingStatusPath);
        var metrics = store.Read<ModelMetrics>(paths.ModelMetricsPath);
        var since = run.Created.AddSeconds(-1);
        var events = data.Events.After(0, int.MaxValue)
            .Where(e => string.Equals(e.Event.Service, run.Service, StringComparison.Ordinal) && e.Event.Time >= since)
            .TakeLast(50).Select(DashboardViews.Item).ToList();
        var current = _runs.CurrentRunOf(run.Service) == runId;
        IReadOnlyList<string> tail = [];
        try
        {
            tail = new ServiceLogReader(data.State).Tail(run.Service, 50);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Engine.Errors.StabilityException)
        {
            // No log (yet) or not ours to read: the page shows none.
        }

        var held = histories.Get(runId).Read(h => Metrics(h).ToList());
        return new RunDetailView(now, run, Duration(run, now), File(training, now), File(metrics, now), held, events, current, tail, Checkpoints(paths.Directory));
    }

    /// <summary>The run's metrics (only <paramref name="metrics"/> when given) downsampled to <paramref name="maxPoints"/> each.</summary>
    public RunHistoryView History(string runId, HistoryAxis axis, string kind, int maxPoints, IReadOnlySet<string>? metrics) =>
        histories.Get(runId).Read(h =>
        {
            var series = new List<SeriesView>();
            foreach (var (seriesKind, set) in Kinds(h, kind))
            {
                foreach (var (name, count, _) in set.Metrics.OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    if (metrics is null || metrics.Contains(name))
                    {
                        var points = set.Points(name, maxPoints).Select(p => new[] { p.X(axis, h.FirstTicks), p.Value }).ToList();
                        points.Sort((a, b) => a[0].CompareTo(b[0]));
                        series.Add(new SeriesView(name, seriesKind, count, points));
                    }
                }
            }

            return new RunHistoryView(runId, AxisName(axis), maxPoints, h.SkippedLines, series);
        });

    /// <summary>The runs side by side with their histories; ids without a record are listed as missing.</summary>
    public CompareView Compare(IReadOnlyList<string> runIds, HistoryAxis axis, string kind, int maxPoints, IReadOnlySet<string>? metrics)
    {
        var now = data.Time.GetUtcNow();
        var found = runIds.Select(id => (Id: id, Run: _runs.Read(id).Document)).ToList();
        var runs = found.Where(f => f.Run is not null).Select(f => f.Run!).ToList();
        var keys = DifferingKeys(runs).ToList();
        var differing = keys.Select(k => new ParameterDifference(k, runs
            .Where(r => r.Parameters.ContainsKey(k)).ToDictionary(r => r.RunId, r => r.Parameters[k], StringComparer.Ordinal))).ToList();
        return new CompareView(
            now,
            AxisName(axis),
            runs.Select(r => Summary(r, now, keys.Take(MaxKeySettings).ToList())).ToList(),
            differing,
            found.Where(f => f.Run is null).Select(f => f.Id).ToList(),
            runs.Select(r => History(r.RunId, axis, kind, maxPoints, metrics)).ToList());
    }

    public static string AxisName(HistoryAxis axis) => axis.ToString().ToLowerInvariant();

    /// <summary>The settings whose values are not the same in every run (absent counts as a value), by name.</summary>
    public static IEnumerable<string> DifferingKeys(IReadOnlyList<TrainingRun> runs) =>
        runs.SelectMany(r => r.Parameters.Keys).Distinct(StringComparer.Ordinal)
            .Where(k => runs.Select(r => r.Parameters.TryGetValue(k, out var v) ? v.GetRawText() : "\u0000absent").Distinct(StringComparer.Ordinal).Count() > 1)
            .Order(StringComparer.Ordinal);

    private static IEnumerable<(string Kind, BucketedSeries Set)> Kinds(RunHistorySnapshot h, string kind)
    {
        if (kind is "all" or "epoch")
        {
            yield return ("epoch", h.Epochs);
        }

        if (kind is "all" or "step")
        {
            yield return ("step", h.Steps);
        }
    }

    private static IEnumerable<RunMetricView> Metrics(RunHistorySnapshot h) =>
        Kinds(h, "all").SelectMany(k => k.Set.Metrics.Select(m => new RunMetricView(m.Name, k.Kind, m.Count, m.Last.Value)))
            .OrderBy(m => m.Metric, StringComparer.Ordinal).ThenBy(m => m.Kind, StringComparer.Ordinal);

    private static IEnumerable<TrainingRun> Sort(IReadOnlyList<TrainingRun> runs, string sort, bool descending, DateTimeOffset now)
    {
        // A run without the sorted value (no such metric yet) goes last in either direction.
        var (present, absent) = sort switch
        {
            _ when sort.StartsWith("final.", StringComparison.Ordinal) => ByMetric(runs, r => r.Final, sort["final.".Length..]),
            _ when sort.StartsWith("best.", StringComparison.Ordinal) => ByMetric(runs, r => r.Best, sort["best.".Length..]),
            _ => (runs.ToList(), new List<TrainingRun>()),
        };
        Func<TrainingRun, IComparable?> key = sort switch
        {
            "started" => r => r.Started ?? r.Created,
            "duration" => r => Duration(r, now) ?? 0,
            "state" => r => r.State,
            "service" => r => r.Service,
            "experiment" => r => r.Experiment ?? "",
            "run_id" => r => r.RunId,
            "epochs" => r => r.Epochs,
            _ when sort.StartsWith("final.", StringComparison.Ordinal) => r => r.Final[sort["final.".Length..]],
            _ when sort.StartsWith("best.", StringComparison.Ordinal) => r => r.Best[sort["best.".Length..]],
            _ => r => r.Created,
        };
        // Ties in creation order, so a page boundary is stable between requests.
        var ordered = descending
            ? present.OrderByDescending(key).ThenByDescending(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal)
            : present.OrderBy(key).ThenBy(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal);
        return ordered.Concat(absent);
    }

    private static (List<TrainingRun>, List<TrainingRun>) ByMetric(IReadOnlyList<TrainingRun> runs, Func<TrainingRun, IReadOnlyDictionary<string, double>> map, string metric) =>
        (runs.Where(r => map(r).ContainsKey(metric)).ToList(), runs.Where(r => !map(r).ContainsKey(metric)).ToList());

    private static RunSummaryView Summary(TrainingRun run, DateTimeOffset now, IReadOnlyList<string> keys) => new(
        run.RunId,
        run.Service,
        run.Experiment,
        run.Tags,
        run.State,
        run.Created,
        run.Started,
        run.Ended,
        Duration(run, now),
        run.Epochs,
        run.Attempts,
        run.Device,
        keys.Where(run.Parameters.ContainsKey).ToDictionary(k => k, k => run.Parameters[k], StringComparer.Ordinal),
        run.Final,
        run.Best);

    /// <summary>From the last start to the end, or to now while it runs; null before a trainer started it.</summary>
    private static double? Duration(TrainingRun run, DateTimeOffset now) => run.Started is { } started
        ? Math.Round(((run.Ended is { } ended && ended >= started ? ended : RunStates.IsFinished(run.State) ? started : now) - started).TotalSeconds, 3)
        : null;

    private static FileView<T> File<T>(ReadResult<T> result, DateTimeOffset now)
        where T : StatusDocument =>
        new(Path.GetFileName(result.Path), StatusJson.WireName(result.State), result.Error,
            result.Document is { } doc ? Math.Round((now - doc.WrittenAt).TotalSeconds, 3) : null, result.Document);

    private static List<RunFileView> Checkpoints(string directory)
    {
        try
        {
            return [.. new DirectoryInfo(directory).EnumerateFiles()
                .Where(f => f.LinkTarget is null && ((f.Name.StartsWith("ckpt-", StringComparison.Ordinal) && f.Name.EndsWith(".ckpt", StringComparison.Ordinal)) || f.Name == "model-final.bin"))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => new RunFileView(f.Name, f.Length, f.LastWriteTimeUtc))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
