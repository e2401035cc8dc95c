using System.Net;
using System.Text.Json;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Api;

/// <summary>Every read endpoint against the real dashboard process over a populated state directory.</summary>
public sealed class ApiEndpointTests(PopulatedDashboard fixture) : IClassFixture<PopulatedDashboard>
{
    private readonly DashboardServer _server = fixture.Server;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Status_shows_the_training_documents_and_the_dashboards_own_health()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/status");

        Assert.Equal("running", doc.At("training", "state").GetString());
        Assert.Equal("ok", doc.At("training", "status", "state").GetString());
        Assert.Equal(3, doc.At("training", "status", "document", "current_epoch").GetInt32());
        Assert.Equal(20, doc.At("training", "status", "document", "total_epochs").GetInt32());
        Assert.InRange(doc.At("training", "heartbeat_age_seconds").GetDouble(), 0, 60);
        Assert.Equal(12345, doc.At("training", "model_metrics", "document", "parameters").GetInt64());
        Assert.True(doc.At("dashboard", "is_connected").GetBoolean());
        Assert.Equal(_server.Url, doc.At("dashboard", "url").GetString());
        Assert.Equal("watch+poll", doc.At("dashboard", "watch_mode").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Processes_lists_each_service_with_state_pid_uptime_restarts_and_resources()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/processes");
        var services = doc.At("services").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);

        var training = services["training"];
        Assert.Equal("running", training.GetProperty("state").GetString());
        Assert.Equal(4242, training.GetProperty("pid").GetInt32());
        Assert.InRange(training.GetProperty("uptime_seconds").GetDouble(), 590, 3600);
        Assert.Equal(2, training.GetProperty("restarts").GetInt32());
        Assert.Equal(12.5, training.GetProperty("cpu_percent").GetDouble());
        Assert.Equal(256, training.GetProperty("memory_mb").GetDouble());
        Assert.Equal(1024, training.GetProperty("gpu_memory_mb").GetDouble());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_service_whose_supervisor_stopped_beating_is_shown_as_unknown_and_stale()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/processes");
        var dashboard = doc.At("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "dashboard");

        Assert.Equal("unknown", dashboard.GetProperty("state").GetString());
        Assert.Equal("stale", dashboard.GetProperty("file_state").GetString());
        Assert.Contains("supervisor may be gone", dashboard.GetProperty("file_error").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Metrics_are_downsampled_to_max_points_and_keep_the_newest_record_exactly()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/metrics?max_points=50");

        Assert.Equal(500, doc.At("total").GetInt32());
        Assert.Equal(50, doc.At("returned").GetInt32());
        Assert.True(doc.At("downsampled").GetBoolean());
        var records = doc.At("records").EnumerateArray().ToList();
        Assert.Equal(50, records.Count);
        Assert.Equal(499, records[^1].GetProperty("step").GetInt64());
        var times = records.Select(r => r.GetProperty("time").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
    }

    [Fact(Timeout = 120_000)]
    public async Task Metrics_since_returns_only_newer_records()
    {
        var since = SampleState.Start.AddSeconds(489).ToString("O");
        using var doc = await Json.GetAsync(_server.Client, $"api/metrics?since={Uri.EscapeDataString(since)}&kind=step");

        Assert.Equal(10, doc.At("total").GetInt32());
        Assert.Equal(Enumerable.Range(490, 10).Select(i => (long)i), doc.At("records").EnumerateArray().Select(r => r.GetProperty("step").GetInt64()));
    }

    [Fact(Timeout = 120_000)]
    public async Task Metric_history_downloads_as_csv_with_a_header_and_one_row_per_record()
    {
        using var response = await _server.Client.GetAsync("api/metrics?format=csv&download=1&max_points=10000", Ct);
        var csv = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("time,run_id,kind,epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,samples_per_sec,learning_rate", lines[0]);
        Assert.Equal(501, lines.Length);
        Assert.StartsWith("2026-01-01T00:00:00.000Z,run-1,step,1,0,2,", lines[1]);
    }

    [Fact(Timeout = 120_000)]
    public async Task Metric_history_downloads_as_json()
    {
        using var response = await _server.Client.GetAsync("api/metrics?format=json&download=1&max_points=10000", Ct);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(500, doc.RootElement.GetProperty("records").GetArrayLength());
    }

    [Fact(Timeout = 120_000)]
    public async Task Market_returns_the_bars_and_the_models_predictions()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/market");

        Assert.Equal("ok", doc.At("state").GetString());
        Assert.Equal("SYNTH", doc.At("document", "symbol").GetString());
        Assert.Equal(60, doc.At("document", "bars").GetArrayLength());
        Assert.Equal(60, doc.At("document", "predictions").GetArrayLength());
    }

    [Fact(Timeout = 120_000)]
    public async Task Resources_show_devices_quotas_with_current_use_and_allocations()
    {
        using var doc = await Json.GetAsync(_server.Client, "api/resources");

        Assert.Equal("ok", doc.At("state").GetString());
        Assert.Equal("NVIDIA H200", doc.At("devices")[0].GetProperty("name").GetString());
        var quota = doc.At("quotas")[0];
        Assert.Equal("training", quota.GetProperty("service").GetString());
        Assert.Equal(8192, quota.GetProperty("memory_mb").GetDouble());
        Assert.Equal(1024, quota.GetProperty("used_mb").GetDouble());
        Assert.Equal(0, doc.At("allocations")[0].GetProperty("devices")[0].GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task Events_page_by_sequence_and_filter_by_severity()
    {
        using var all = await Json.GetAsync(_server.Client, "api/events");
        using var after = await Json.GetAsync(_server.Client, "api/events?since_seq=1");
        using var errors = await Json.GetAsync(_server.Client, "api/events?severity=error");

        Assert.Equal(["started", "limit_exceeded", "exited"], all.At("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([2L, 3L], after.At("events").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal(["exited"], errors.At("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(3, all.At("last_seq").GetInt64());
    }

    [Fact(Timeout = 120_000)]
    public async Task Healthz_answers_200_while_the_refresh_loop_turns()
    {
        using var doc = await Json.GetAsync(_server.Client, "healthz");

        Assert.Equal("healthy", doc.At("status").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Metrics_endpoint_is_valid_prometheus_text_with_training_process_and_dcgm_gpu_gauges()
    {
        using var response = await _server.Client.GetAsync("metrics", Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        var samples = PrometheusText.Parse(text);
        double Value(string name, params (string, string)[] labels) => samples.Single(s =>
            s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Item1, out var v) && v == l.Item2)).Value;

        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(3, Value("stability_training_epoch"));
        Assert.Equal(20, Value("stability_training_total_epochs"));
        Assert.Equal(1, Value("stability_training_running", ("run_id", "run-1")));
        Assert.Equal(1, Value("stability_process_up", ("service", "training")));
        Assert.Equal(1, Value("stability_process_state", ("service", "dashboard"), ("state", "unknown")));
        Assert.Equal(256.0 * 1048576, Value("stability_process_resident_memory_bytes", ("service", "training")));
        Assert.Equal(2048, Value("DCGM_FI_DEV_FB_USED", ("gpu", "0"), ("modelName", "NVIDIA H200")));
        Assert.Equal(143771 - 2048, Value("DCGM_FI_DEV_FB_FREE", ("gpu", "0")));
        Assert.Equal(8192.0 * 1048576, Value("stability_gpu_quota_bytes", ("service", "training"), ("device", "0")));
        Assert.Equal(1, Value("stability_status_file_state", ("file", "training_status.json"), ("state", "ok")));
    }

    [Fact(Timeout = 120_000)]
    public async Task The_dashboard_writes_its_own_state_file_with_its_url()
    {
        var doc = await Eventually.UntilAsync(
            () => Task.FromResult<StabilityTools.Engine.Models.DashboardState?>(fixture.Sample.Data.ReadDashboardState().Document),
            d => d?.Url == _server.Url,
            TimeSpan.FromSeconds(20),
            "dashboard_state.json to carry the URL");

        Assert.True(doc!.IsConnected);
        Assert.Equal("dashboard_state/1", doc.Schema);
        Assert.True(doc.PerformanceMetrics.ContainsKey("request_latency_p95_ms"));
    }
}
