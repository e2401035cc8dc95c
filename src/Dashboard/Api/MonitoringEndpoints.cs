using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StabilityTools.Dashboard.Data;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>One answer of <c>/api/system-metrics</c>: a service's CPU, memory and GPU memory history, downsampled to what a chart draws.</summary>
internal sealed record SystemMetricsView(string Service, string? RunId, string File, int Total, int SkippedLines, IReadOnlyList<SystemMetricsPoint> Points);

/// <summary>One answer of <c>/api/logs</c>: lines oldest first and where the next live read starts.</summary>
internal sealed record LogView(string Service, string Stream, string? Pattern, IReadOnlyList<string> Lines, long NextOffset, bool Restarted, long SkippedBytes);

/// <summary>
/// Issue #24's monitoring API, behind the same token, host check and rate limit as the rest: <c>/api/errors</c> (the
/// errors chart: restarts, failures, hangs and limit events per bucket over 1 h, 24 h or 7 d) and <c>/api/logs</c> (the
/// log panel: a service's captured output, its tail or what a pattern finds across the rotated files, then live from
/// an offset) and <c>/api/system-metrics</c> (a service's CPU, memory and GPU memory over its run). Every parameter is checked; a bad one is a 400 that names it.
/// </summary>
internal static class MonitoringEndpoints
{
    /// <summary>The most lines one answer of <c>/api/logs</c> carries.</summary>
    public const int MaxLogLines = 1000;

    /// <summary>The most bytes one live read of <c>/api/logs</c> reads; a client further behind gets the newest and is told how much it missed.</summary>
    public const long MaxLiveBytes = 1024 * 1024;

    /// <summary>The longest pattern the log panel accepts.</summary>
    public const int MaxPatternLength = 200;

    public static void MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/errors", Errors);
        app.MapGet("/api/logs", Logs);
        app.MapGet("/api/system-metrics", SystemMetrics);
    }

    private static IResult SystemMetrics(HttpRequest request, DashboardData data)
    {
        var query = new QueryReader(request.Query);
        var service = query.Matching("service", StateDirectory.IsValidServiceName, "a service name");
        if (service is null && !query.HasErrors)
        {
            query.Require("service", "give the service whose history to chart, e.g. service=training");
        }

        var runId = query.Matching("run", StateDirectory.IsValidRunId, "a run id");
        var maxPoints = query.Integer("max_points", 600, 2, SystemMetricsHistory.DefaultMaxPoints);
        if (query.HasErrors)
        {
            return query.Problem();
        }

        if (!Directory.Exists(data.State.ServiceDirectory(service!)))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such service",
                detail: $"The state directory has no service '{service}'; /api/processes lists the services there are.");
        }

        // Where its supervisor writes it (the spec says): its current run's, the run asked for, or its own.
        string path;
        try
        {
            path = SystemMetricsHistory.Locate(data.State, service!, runId);
        }
        catch (ServiceNotFoundException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run", detail: ex.Message);
        }

        runId ??= data.Processes.Select(p => p.Result.Document).FirstOrDefault(d => d?.Name == service)?.RunId;
        var file = Path.GetRelativePath(data.State.Root, path);
        SystemMetricsRead read;
        try
        {
            read = SystemMetricsHistory.Read(path);
        }
        catch (UnsafeFileException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "History refused", detail: ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History unreadable", detail: $"'{file}' cannot be read now: {ex.Message}");
        }

        return DashboardEndpoints.Json(new SystemMetricsView(service!, runId, file, read.Points.Count, read.Skipped,
            SystemMetricsHistory.Downsample(read.Points, maxPoints)));
    }

    private static IResult Errors(HttpRequest request, DashboardData data)
    {
        var query = new QueryReader(request.Query);
        var window = query.Choice("window", "24h", [.. ErrorTimeline.Windows.Keys]);
        var service = query.Matching("service", StateDirectory.IsValidServiceName, "a service name");
        return query.HasErrors ? query.Problem() : DashboardEndpoints.Json(data.Errors.View(window, service));
    }

    private static IResult Logs(HttpRequest request, DashboardData data)
    {
        var query = new QueryReader(request.Query);
        var service = query.Matching("service", StateDirectory.IsValidServiceName, "a service name");
        if (service is null && !query.HasErrors)
        {
            query.Require("service", "give the service whose log to read, e.g. service=training");
        }

        var streamName = query.Choice("stream", "stdout", "stdout", "stderr", "supervisor");
        var tail = query.Integer("tail", 200, 1, MaxLogLines);
        var patternText = query.Matching("pattern", p => p.Length is > 0 and <= MaxPatternLength, $"a regular expression of 1 to {MaxPatternLength} characters");
        var caseSensitive = query.Choice("case_sensitive", "0", "0", "1") == "1";
        var after = request.Query.ContainsKey("after") ? query.Long("after", 0, 0) : (long?)null;
        Regex? pattern = null;
        if (patternText is not null)
        {
            try
            {
                pattern = ServiceLogQuery.ParsePattern(patternText, caseSensitive, "pattern");
            }
            catch (ArgumentException ex)
            {
                query.Require("pattern", ex.Message);
            }
        }

        if (query.HasErrors)
        {
            return query.Problem();
        }

        if (!Directory.Exists(data.State.ServiceDirectory(service!)))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such service",
                detail: $"The state directory has no service '{service}'; /api/processes lists the services there are.");
        }

        var stream = Enum.Parse<ServiceLogStream>(streamName, ignoreCase: true);
        var path = ServiceLogReader.LogPath(data.State, service!, stream);
        var search = new ServiceLogQuery { Pattern = pattern, Tail = tail };
        try
        {
            if (after is { } offset)
            {
                // Live: what was written since the client's offset, filtered like the first answer.
                var chunk = ServiceLogReader.ReadAfter(path, offset, MaxLiveBytes);
                DateTimeOffset? time = null;
                var lines = chunk.Lines.Where(line =>
                {
                    time = ServiceLogSearch.LineTime(line) ?? time;
                    return ServiceLogSearch.IsMatch(line, search, time);
                }).ToList();
                var dropped = Math.Max(0, lines.Count - tail);
                return DashboardEndpoints.Json(new LogView(service!, streamName, patternText, lines[dropped..], chunk.NextOffset, chunk.Restarted, chunk.SkippedBytes));
            }

            // The offset is taken before the search: a line written meanwhile may come twice, never not at all.
            var next = WholeLinesEnd(path);
            var found = new ServiceLogReader(data.State).Search(service!, search, stream).ToList();
            return DashboardEndpoints.Json(new LogView(service!, streamName, patternText, found, next, false, 0));
        }
        catch (RegexMatchTimeoutException)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Pattern too slow",
                detail: $"The pattern took longer than {ServiceLogQuery.MatchTimeout.TotalSeconds:0} s on one line: simplify it (nested repetition such as '(a+)+' backtracks without end).");
        }
        catch (UnsafeFileException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Log refused", detail: ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Log unreadable",
                detail: $"'{path}' cannot be read now: {ex.Message}");
        }
    }

    /// <summary>Where the file's last whole line ends (0 for a missing file): the live reads go on from there.</summary>
    private static long WholeLinesEnd(string path)
    {
        try
        {
            using var stream = SafeFile.OpenRead(path);
            var length = stream.Length;
            var buffer = new byte[(int)Math.Min(length, 64 * 1024)];
            stream.Position = length - buffer.Length;
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var last = read == 0 ? -1 : Array.LastIndexOf(buffer, (byte)'\n', read - 1);
            // No newline in the last 64 KiB: one very long line is being written; go on from its end.
            return last < 0 ? length : length - buffer.Length + last + 1;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
    }
}
