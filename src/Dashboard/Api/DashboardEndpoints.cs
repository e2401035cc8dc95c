using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Telemetry;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>The HTTP API: JSON views of the cache, the metric history (JSON or CSV), Prometheus text, health and the event stream.</summary>
internal static class DashboardEndpoints
{
    /// <summary>The most points <c>/api/metrics</c> returns in one response.</summary>
    public const int MaxPoints = 10_000;

    public static void MapDashboardApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Health);
        app.MapGet("/api/status", (DashboardViews views) => Json(views.Status()));
        app.MapGet("/api/processes", (DashboardViews views) => Json(views.Processes()));
        app.MapGet("/api/market", (DashboardViews views) => Json(views.Market()));
        app.MapGet("/api/resources", (DashboardViews views) => Json(views.Resources()));
        app.MapGet("/api/events", Events);
        app.MapGet("/api/metrics", Metrics);
        app.MapGet("/api/stream", StreamEndpoint.Open);
        app.MapRunsApi();
        app.MapMonitoringApi();
        app.MapGet("/metrics", (DashboardViews views, RequestStats stats) =>
            Results.Text(PrometheusExporter.Export(views, stats), PrometheusExporter.ContentType, Encoding.UTF8));
    }

    /// <summary>Serializes with the status-file conventions (snake_case, named floats) so API and files read alike.</summary>
    public static IResult Json<T>(T value) => TypedResults.Json(value, StatusJson.Options);

    private static IResult Health(DashboardData data, RequestStats stats)
    {
        var now = data.Time.GetUtcNow();
        var options = data.Options;
        // Healthy while the refresh loop keeps turning: a loop stuck longer than a few bounded operations
        // means the cache no longer follows the files.
        var bound = options.PollInterval + options.OperationTimeout + options.OperationTimeout;
        var since = data.LastRefresh ?? stats.StartedAt;
        var age = now - since;
        var healthy = age <= bound;
        var body = JsonSerializer.Serialize(new { status = healthy ? "healthy" : "unhealthy", last_refresh_age_seconds = Math.Round(age.TotalSeconds, 3) }, StatusJson.Options);
        return Results.Text(body, "application/json", Encoding.UTF8, healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Events(HttpRequest request, DashboardViews views)
    {
        var query = new QueryReader(request.Query);
        var since = query.Long("since_seq", 0, 0);
        var limit = query.Integer("limit", 200, 1, 1000);
        var severity = query.Choice("severity", "info", "info", "warning", "error");
        return query.HasErrors ? query.Problem() : Json(views.Events(since, limit, EventFeed.SeverityRank(severity)));
    }

    private static IResult Metrics(HttpRequest request, DashboardViews views)
    {
        var query = new QueryReader(request.Query);
        var since = query.Timestamp("since");
        var maxPoints = query.Integer("max_points", 1000, 2, MaxPoints);
        var kind = query.Choice("kind", "all", "all", "epoch", "step");
        var format = query.Choice("format", "json", "json", "csv");
        var download = query.Choice("download", "0", "0", "1") == "1";
        if (query.HasErrors)
        {
            return query.Problem();
        }

        var (total, records) = views.Data.Metrics.Query(since, kind == "all" ? null : Enum.Parse<MetricKind>(kind, ignoreCase: true), maxPoints);
        var view = new MetricsView(total, records.Count, records.Count < total, views.Data.SkippedMetricLines, records);
        IResult result = format == "csv"
            ? Results.Text(MetricsCsv.Write(records), "text/csv", Encoding.UTF8)
            : Json(view);
        return download ? new AttachmentResult(result, $"metrics.{format}") : result;
    }

    /// <summary>Adds <c>Content-Disposition: attachment</c> so the browser saves the response.</summary>
    internal sealed class AttachmentResult(IResult inner, string fileName) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
