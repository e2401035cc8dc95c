using System.Text.Json;
using StabilityTools.Engine.Models;

// The JSON shapes of the runs API (snake_case through StatusJson.Options), kept together as ApiViews.cs keeps the rest:
// together they are the wire contract of /api/runs and /api/compare.
namespace StabilityTools.Dashboard.Api;

/// <summary>One row of the runs table: a run's record without its full settings, with the settings that set it apart.</summary>
internal sealed record RunSummaryView(
    string RunId,
    string Service,
    string? Experiment,
    IReadOnlyList<string> Tags,
    string State,
    DateTimeOffset Created,
    DateTimeOffset? Started,
    DateTimeOffset? Ended,
    double? DurationSeconds,
    int Epochs,
    int Attempts,
    string? Device,
    IReadOnlyDictionary<string, JsonElement> KeySettings,
    IReadOnlyDictionary<string, double> Final,
    IReadOnlyDictionary<string, double> Best);

/// <summary><c>/api/runs</c>: <paramref name="Total"/> runs matched the filter; <paramref name="KeyParameters"/> are the settings that differ among them.</summary>
internal sealed record RunListView(DateTimeOffset ServerTime, int Total, int Returned, IReadOnlyList<string> KeyParameters, IReadOnlyList<RunSummaryView> Runs);

/// <summary>A metric a run's history holds: its name, the kind of record that carries it, how many values, the newest.</summary>
internal sealed record RunMetricView(string Metric, string Kind, long Count, double Last);

/// <summary>A checkpoint or final model file of a run.</summary>
internal sealed record RunFileView(string File, long Bytes, DateTimeOffset Modified);

/// <summary>
/// <c>/api/runs/{id}</c>: the run's record, its live documents, the metrics its history holds, the newest events of its
/// service since it was created, its service's log tail (<paramref name="LogsAreCurrent"/>: the service works on this run
/// now, so the tail is this run's) and its checkpoints.
/// </summary>
internal sealed record RunDetailView(
    DateTimeOffset ServerTime,
    TrainingRun Run,
    double? DurationSeconds,
    FileView<TrainingStatus> Training,
    FileView<ModelMetrics> ModelMetrics,
    IReadOnlyList<RunMetricView> Metrics,
    IReadOnlyList<EventItem> Events,
    bool LogsAreCurrent,
    IReadOnlyList<string> LogTail,
    IReadOnlyList<RunFileView> Checkpoints);

/// <summary>One metric of one kind of record, downsampled: <paramref name="Points"/> are <c>[x, y]</c> pairs in ascending x.</summary>
internal sealed record SeriesView(string Metric, string Kind, long Total, IReadOnlyList<double[]> Points);

/// <summary><c>/api/runs/{id}/history</c>: every metric of the run (custom scalars included) on the chosen x-axis.</summary>
internal sealed record RunHistoryView(string RunId, string X, int MaxPoints, long SkippedLines, IReadOnlyList<SeriesView> Series);

/// <summary>A setting and its value in each compared run (absent: the run has no such setting).</summary>
internal sealed record ParameterDifference(string Name, IReadOnlyDictionary<string, JsonElement> Values);

/// <summary><c>/api/compare</c>: the runs side by side, the settings that differ among them, and each run's history.</summary>
internal sealed record CompareView(
    DateTimeOffset ServerTime,
    string X,
    IReadOnlyList<RunSummaryView> Runs,
    IReadOnlyList<ParameterDifference> DifferingParameters,
    IReadOnlyList<string> MissingRuns,
    IReadOnlyList<RunHistoryView> Histories);
