using System.Net;
using System.Text.Json;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Tests.Api;

/// <summary>
/// The monitoring API (issue #24) against the real dashboard process: <c>/api/errors</c> counts what the events say,
/// exactly as <c>Get-ProcessStatus</c>'s rates count it, and <c>/api/logs</c> reads, searches and follows a captured log.
/// </summary>
public sealed class MonitoringApiTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly SampleState _sample = new();
    private DashboardServer _server = null!;
    private string _logPath = "";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _sample.WriteService("training", ServiceState.Running, DateTimeOffset.UtcNow, pid: 4242);
        _sample.WriteService("dashboard", ServiceState.Running, DateTimeOffset.UtcNow, pid: 4343);
        _sample.Data.Events.AppendRange(History());
        _logPath = Path.Combine(_sample.State.ServiceLogDirectory("training"), "stdout.log");
        Directory.CreateDirectory(Path.GetDirectoryName(_logPath)!);
        // A rotated file and the current one: a search goes through both, oldest first.
        File.WriteAllText(_logPath + ".1", string.Concat(Enumerable.Range(0, 50).Select(i => $"old line {i}{(i % 10 == 0 ? " ERROR disk" : "")}\n")));
        File.WriteAllText(_logPath, string.Concat(Enumerable.Range(0, 50).Select(i => $"new line {i}{(i % 10 == 0 ? " ERROR net" : "")}\n")));
        // Training's status names no run (WriteService): its history is its service's. Memory climbs 1 MB a sample.
        var history = new SystemMetricsHistory(SystemMetricsHistory.PathFor(_sample.State, "training", null), maxPoints: 64);
        for (var i = 0; i < 100; i++)
        {
            history.Append(new SystemMetricsPoint { Time = Now.AddSeconds(5 * (i - 100)), Pid = 4242, CpuPercent = i % 2 == 0 ? 50 : 100, CpuMaxPercent = i % 2 == 0 ? 50 : 100, MemoryMb = 100 + i, MemoryMaxMb = 100 + i });
        }

        _server = await DashboardServer.StartProcessAsync(_sample.Root, ["--process-stale-after-s", "3600"]);
        await Eventually.UntilAsync(
            async () => await Json.GetAsync(_server.Client, "api/events?limit=1000"),
            doc => doc.At("events").GetArrayLength() == History().Count,
            TimeSpan.FromSeconds(30),
            "the dashboard to read the events");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    /// <summary>
    /// Known history: training crashes 3 times in the last hour (each exit a failure and a restart), hangs once 3 hours
    /// ago and breaks a limit twice 2 days ago; the dashboard fails to launch once 10 days ago (outside every window).
    /// </summary>
    private static List<StabilityEvent> History()
    {
        var events = new List<StabilityEvent>();
        void Add(string service, TimeSpan ago, string type, params (string, string)[] data) => events.Add(new StabilityEvent
        {
            Time = Now - ago, Service = service, Type = type, Severity = EventSeverity.Info, Message = type,
            Data = data.Length == 0 ? null : data.ToDictionary(d => d.Item1, d => d.Item2),
        });

        Add("dashboard", TimeSpan.FromDays(10), "fatal");
        Add("training", TimeSpan.FromDays(3), "started");
        Add("training", TimeSpan.FromDays(2), "limit_exceeded");
        Add("training", TimeSpan.FromDays(2) - TimeSpan.FromMinutes(1), "limit_exceeded");
        Add("training", TimeSpan.FromHours(3), "hang_detected");
        foreach (var minutes in new[] { 50, 30, 10 })
        {
            Add("training", TimeSpan.FromMinutes(minutes), "exited", ("exit_code", "1"));
            Add("training", TimeSpan.FromMinutes(minutes) - TimeSpan.FromSeconds(1), "restarting");
            Add("training", TimeSpan.FromMinutes(minutes) - TimeSpan.FromSeconds(3), "started");
        }

        return events;
    }

    [Fact(Timeout = 120_000)]
    public async Task Errors_over_a_day_count_what_get_processstatus_counts_for_the_same_events()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/errors?window=24h&service=training");
        var rates = ServiceRates.Build(History(), DateTimeOffset.UtcNow)["training"];

        Assert.Equal(3600, doc.At("bucket_seconds").GetInt32());
        Assert.Equal(24, doc.At("buckets").GetArrayLength());
        Assert.Equal(rates.Last24Hours.Restarts, doc.At("totals", "restarts").GetInt32());
        Assert.Equal(rates.Last24Hours.Failures, doc.At("totals", "failures").GetInt32());
        Assert.Equal(rates.Last24Hours.Hangs, doc.At("totals", "hangs").GetInt32());
        Assert.Equal(3, doc.At("totals", "restarts").GetInt32());
        Assert.Equal(1, doc.At("totals", "hangs").GetInt32());
        Assert.Equal(0, doc.At("totals", "limit_events").GetInt32());
        // The three crashes are in the newest buckets, oldest first, every bucket one hour after the one before.
        var buckets = doc.At("buckets").EnumerateArray().ToList();
        Assert.Equal(3, buckets[^1].GetProperty("restarts").GetInt32() + buckets[^2].GetProperty("restarts").GetInt32());
        var starts = buckets.Select(b => b.GetProperty("start").GetDateTimeOffset()).ToList();
        Assert.All(starts.Zip(starts.Skip(1)), pair => Assert.Equal(TimeSpan.FromHours(1), pair.Second - pair.First));
    }

    [Fact(Timeout = 120_000)]
    public async Task Errors_over_a_week_include_the_limit_events_and_leave_out_what_is_older()
    {
        using var week = await Json.GetAsync(_server.Client, "api/errors?window=7d");
        using var hour = await Json.GetAsync(_server.Client, "api/errors?window=1h");

        Assert.Equal(28, week.At("buckets").GetArrayLength());
        Assert.Equal(2, week.At("totals", "limit_events").GetInt32());
        Assert.Equal(3, week.At("totals", "failures").GetInt32());
        // The dashboard's launch failure ten days ago is outside even the week.
        Assert.Equal(0, week.At("totals", "fatal").GetInt32());
        Assert.Equal(12, hour.At("buckets").GetArrayLength());
        Assert.Equal(3, hour.At("totals", "restarts").GetInt32());
        Assert.Equal(0, hour.At("totals", "hangs").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_give_the_tail_and_a_search_across_the_rotated_file_oldest_first()
    {
        using var tail = await Json.GetAsync(_server.Client, "api/logs?service=training&tail=3");
        using var search = await Json.GetAsync(_server.Client, "api/logs?service=training&pattern=error&tail=1000");

        Assert.Equal(["new line 47", "new line 48", "new line 49"], tail.At("lines").EnumerateArray().Select(l => l.GetString()!));
        Assert.Equal(new FileInfo(_logPath).Length, tail.At("next_offset").GetInt64());
        Assert.Equal(
            [.. Enumerable.Range(0, 5).Select(i => $"old line {i * 10} ERROR disk"), .. Enumerable.Range(0, 5).Select(i => $"new line {i * 10} ERROR net")],
            search.At("lines").EnumerateArray().Select(l => l.GetString()!));
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_follow_from_an_offset_filtered_and_start_over_after_a_rotation()
    {
        using var first = await Json.GetAsync(_server.Client, "api/logs?service=training&tail=1&pattern=net");
        var offset = first.At("next_offset").GetInt64();
        File.AppendAllText(_logPath, "net up\nother\nnet down\npartial net");

        using var next = await Json.GetAsync(_server.Client, $"api/logs?service=training&pattern=net&after={offset}");
        Assert.Equal(["net up", "net down"], next.At("lines").EnumerateArray().Select(l => l.GetString()!));
        Assert.False(next.At("restarted").GetBoolean());
        // The partial line is not taken: the next read begins at it.
        Assert.Equal(new FileInfo(_logPath).Length - "partial net".Length, next.At("next_offset").GetInt64());

        File.Move(_logPath, _logPath + ".1", overwrite: true);
        File.WriteAllText(_logPath, "net fresh\n");
        using var rotated = await Json.GetAsync(_server.Client, $"api/logs?service=training&pattern=net&after={next.At("next_offset").GetInt64()}");
        Assert.True(rotated.At("restarted").GetBoolean());
        Assert.Equal(["net fresh"], rotated.At("lines").EnumerateArray().Select(l => l.GetString()!));
    }

    [Fact(Timeout = 120_000)]
    public async Task System_metrics_are_the_bounded_history_downsampled_for_the_chart_oldest_first()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/system-metrics?service=training&max_points=10");
        using var none = await Json.GetAsync(_server.Client, "api/system-metrics?service=dashboard");

        var points = doc.At("points").EnumerateArray().ToList();
        // 100 samples into a file of at most 64 points: compacted, never beyond its bound; then 10 for the chart.
        Assert.InRange(doc.At("total").GetInt32(), 33, 64);
        Assert.InRange(points.Count, 5, 10);
        Assert.Equal(100, points.Sum(p => p.GetProperty("samples").GetInt32()));
        Assert.Equal(199, points[^1].GetProperty("memory_max_mb").GetDouble());
        Assert.Equal(100, points.Max(p => p.GetProperty("cpu_max_percent").GetDouble()));
        Assert.All(points, p => Assert.InRange(p.GetProperty("cpu_percent").GetDouble(), 50, 100));
        var times = points.Select(p => p.GetProperty("time").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal("services/training/system_metrics.jsonl", doc.At("file").GetString());
        Assert.Equal(0, none.At("points").GetArrayLength());
    }

    [Theory(Timeout = 120_000)]
    [InlineData("api/logs", "service")]
    [InlineData("api/logs?service=Bad%20Name", "service")]
    [InlineData("api/logs?service=training&stream=stdin", "stream")]
    [InlineData("api/logs?service=training&pattern=(unclosed", "pattern")]
    [InlineData("api/logs?service=training&tail=0", "tail")]
    [InlineData("api/logs?service=training&after=-1", "after")]
    [InlineData("api/errors?window=1y", "window")]
    [InlineData("api/system-metrics", "service")]
    [InlineData("api/system-metrics?service=training&max_points=1", "max_points")]
    [InlineData("api/system-metrics?service=training&run=../x", "run")]
    public async Task A_bad_parameter_is_a_400_that_names_it(string path, string parameter)
    {
        using var response = await _server.Client.GetAsync(path, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(parameter, out _), body);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_service_that_does_not_exist_is_a_404_and_a_link_in_place_of_a_log_is_refused()
    {
        using var missing = await _server.Client.GetAsync("api/logs?service=nothing", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var stderr = Path.Combine(_sample.State.ServiceLogDirectory("training"), "stderr.log");
        File.CreateSymbolicLink(stderr, "/etc/passwd");
        using var link = await _server.Client.GetAsync("api/logs?service=training&stream=stderr", Ct);
        var body = await link.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.Conflict, link.StatusCode);
        Assert.DoesNotContain("root:", body);
    }
}
