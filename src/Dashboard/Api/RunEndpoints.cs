using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StabilityTools.Dashboard.Data.History;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Training;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// The runs API, read-only, behind the same token, host check and rate limit as the rest: <c>/api/runs</c> (the runs
/// table), <c>/api/runs/{id}</c> (one run), <c>/api/runs/{id}/history</c> (its metrics downsampled on the server) and
/// <c>/api/compare</c> (several runs overlaid, as JSON or CSV) and <c>/api/sweeps</c> (each sweep's progress and best trial). Every parameter is checked; a bad one is a 400 that names it.
/// </summary>
internal static class RunEndpoints
{
    /// <summary>The most points per series a history returns (twice the buckets an index keeps).</summary>
    public const int MaxHistoryPoints = 2 * BucketedSeries.Capacity;

    /// <summary>The most runs one comparison overlays.</summary>
    public const int MaxCompareRuns = 20;

    private static readonly string[] Sorts = ["created", "started", "duration", "state", "service", "experiment", "run_id", "epochs"];

    public static void MapRunsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs", List);
        app.MapGet("/api/runs/{runId}", Detail);
        app.MapGet("/api/runs/{runId}/history", History);
        app.MapGet("/api/compare", Compare);
        app.MapGet("/api/sweeps", (SweepViews sweeps) => DashboardEndpoints.Json(sweeps.List()));
    }

    private static IResult List(HttpRequest request, RunViews views)
    {
        var query = new QueryReader(request.Query);
        var filter = new RunFilter
        {
            Service = query.Matching("service", StateDirectory.IsValidServiceName, "a service name"),
            Experiment = query.Matching("experiment", t => t.Length <= 200, "an experiment name of at most 200 characters"),
            State = query.Optional("state", RunStates.Created, RunStates.Running, RunStates.Completed, RunStates.Failed, RunStates.Stopped),
            Since = query.Timestamp("since"),
            Tags = query.Matching("tag", t => t.Length <= 200, "a tag of at most 200 characters") is { } tag ? [tag] : [],
        };
        var sort = query.Matching("sort", s => Sorts.Contains(s, StringComparer.Ordinal) || IsMetricSort(s),
            $"one of {string.Join(", ", Sorts)}, final.METRIC or best.METRIC") ?? "created";
        var order = query.Choice("order", "desc", "asc", "desc");
        var offset = query.Integer("offset", 0, 0, 1_000_000);
        var limit = query.Integer("limit", 200, 1, 1000);
        return query.HasErrors ? query.Problem() : DashboardEndpoints.Json(views.List(filter, sort, order == "desc", offset, limit));
    }

    private static IResult Detail(string runId, RunViews views)
    {
        if (!StateDirectory.IsValidRunId(runId))
        {
            return BadRunId(runId);
        }

        return views.Detail(runId) is { } detail
            ? DashboardEndpoints.Json(detail)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run",
                detail: $"No readable runs/{runId}/run.json in this state directory; /api/runs lists the runs there are.");
    }

    private static IResult History(string runId, HttpRequest request, RunViews views)
    {
        var query = new QueryReader(request.Query);
        var (axis, kind, maxPoints, metrics) = SeriesParameters(query);
        if (!StateDirectory.IsValidRunId(runId))
        {
            return BadRunId(runId);
        }

        return query.HasErrors ? query.Problem() : DashboardEndpoints.Json(views.History(runId, axis, kind, maxPoints, metrics));
    }

    private static IResult Compare(HttpRequest request, RunViews views)
    {
        var query = new QueryReader(request.Query);
        var ids = query.Matching("runs", t => t.Split(',').All(StateDirectory.IsValidRunId) && t.Split(',').Length <= MaxCompareRuns,
            $"a comma-separated list of 1 to {MaxCompareRuns} run ids") is { } list ? list.Split(',').Distinct(StringComparer.Ordinal).ToList() : null;
        if (ids is null && !query.HasErrors)
        {
            query.Require("runs", "give the runs to compare, e.g. runs=run-a,run-b");
        }

        var (axis, kind, maxPoints, metrics) = SeriesParameters(query);
        var format = query.Choice("format", "json", "json", "csv");
        var download = query.Choice("download", "0", "0", "1") == "1";
        if (query.HasErrors)
        {
            return query.Problem();
        }

        var view = views.Compare(ids!, axis, kind, maxPoints, metrics);
        IResult result = format == "csv" ? Results.Text(CompareCsv(view), "text/csv", Encoding.UTF8) : DashboardEndpoints.Json(view);
        return download ? new DashboardEndpoints.AttachmentResult(result, $"compare.{format}") : result;
    }

    private static (HistoryAxis Axis, string Kind, int MaxPoints, IReadOnlySet<string>? Metrics) SeriesParameters(QueryReader query)
    {
        var axis = Enum.Parse<HistoryAxis>(query.Choice("x", "step", "step", "epoch", "wall", "relative"), ignoreCase: true);
        var kind = query.Choice("kind", "all", "all", "epoch", "step");
        var maxPoints = query.Integer("max_points", 1000, 3, MaxHistoryPoints);
        var metrics = query.Matching("metrics", t => t.Split(',').All(IsMetricName), "a comma-separated list of metric names") is { } names
            ? names.Split(',').ToHashSet(StringComparer.Ordinal)
            : null;
        return (axis, kind, maxPoints, metrics);
    }

    /// <summary>The comparison as CSV (RFC 4180), one point a row: what the charts show, ready for a spreadsheet.</summary>
    public static string CompareCsv(CompareView view)
    {
        var csv = new StringBuilder("run_id,metric,kind,x_").Append(view.X).Append(",value\r\n");
        foreach (var history in view.Histories)
        {
            foreach (var series in history.Series)
            {
                foreach (var point in series.Points)
                {
                    csv.Append(MetricsCsv.Text(history.RunId)).Append(',').Append(MetricsCsv.Text(series.Metric)).Append(',').Append(series.Kind).Append(',')
                       .Append(point[0].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                       .Append(point[1].ToString("R", CultureInfo.InvariantCulture)).Append("\r\n");
                }
            }
        }

        return csv.ToString();
    }

    private static bool IsMetricSort(string sort) =>
        (sort.StartsWith("final.", StringComparison.Ordinal) && IsMetricName(sort["final.".Length..]))
        || (sort.StartsWith("best.", StringComparison.Ordinal) && IsMetricName(sort["best.".Length..]));

    private static bool IsMetricName(string name) =>
        name.Length is > 0 and <= MetricNames.MaxNameBytes && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or ':' or '/');

    private static IResult BadRunId(string runId) => TypedResults.ValidationProblem(
        new Dictionary<string, string[]> { ["run_id"] = [$"'{(runId.Length <= 40 ? runId : runId[..40] + "…")}' is not a run id (letters, digits, '.', '_', '-'); /api/runs lists them."] },
        title: "Invalid run id");
}
