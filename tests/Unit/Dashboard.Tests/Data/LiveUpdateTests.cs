using System.Net;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Tests.Data;

/// <summary>Changes written to the state directory reach stream clients without a reload (in-process Kestrel).</summary>
public sealed class LiveUpdateTests : IAsyncLifetime
{
    private readonly SampleState _sample = new SampleState().Populate(metricRecords: 5);
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = _sample.Root, MaxStreamClients = 2 });

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task On_connect_the_stream_sends_hello_and_the_current_views()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);

        using var hello = await stream.NextAsync("hello");
        using var training = await stream.NextAsync("training");
        using var processes = await stream.NextAsync("processes");

        Assert.True(hello.RootElement.GetProperty("metrics_total").GetInt64() >= 0);
        Assert.Equal("running", training.At("state").GetString());
        Assert.Equal(2, processes.At("services").GetArrayLength());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_training_status_written_to_the_state_directory_is_pushed_to_the_stream()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);
        (await stream.NextAsync("training")).Dispose();

        _sample.WriteTraining(epoch: 9);
        using var update = await stream.NextAsync("training", d => d.At("status", "document", "current_epoch").GetInt32() == 9);

        Assert.Equal("running", update.At("state").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task New_metric_records_are_pushed_as_a_delta()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);
        (await stream.NextAsync("hello")).Dispose();
        await Eventually.UntilAsync(async () => (await Json.GetAsync(_server.Client, "api/metrics")).At("total").GetInt32(), n => n == 5, TimeSpan.FromSeconds(10), "the first records");

        _sample.AppendMetrics(3, firstEpoch: 7);
        // The start-up load may have been pushed to this stream too: wait for the push that brings the total to 8.
        using var delta = await stream.NextAsync("metrics", d => d.At("total").GetInt64() == 8);

        Assert.False(delta.At("reset").GetBoolean());
        Assert.Equal(8, delta.At("total").GetInt64());
        Assert.Equal([7, 7, 7], delta.At("records").EnumerateArray().Select(r => r.GetProperty("epoch").GetInt32()));
    }

    [Fact(Timeout = 120_000)]
    public async Task New_events_are_pushed_with_their_sequence_numbers()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);
        (await stream.NextAsync("hello")).Dispose();
        await Eventually.UntilAsync(async () => (await Json.GetAsync(_server.Client, "api/events")).At("last_seq").GetInt64(), n => n == 3, TimeSpan.FromSeconds(10), "the first events");

        _sample.Data.Events.Append(new StabilityEvent { Time = DateTimeOffset.UtcNow, Service = "training", Type = "restarting", Severity = EventSeverity.Warning, Message = "restart 1" }, TestContext.Current.CancellationToken);
        using var pushed = await stream.NextAsync("events", d => d.At("last_seq").GetInt64() == 4);

        var e = Assert.Single(pushed.At("events").EnumerateArray());
        Assert.Equal(4, e.GetProperty("seq").GetInt64());
        Assert.Equal("restarting", e.GetProperty("type").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_new_service_appears_in_the_process_stream()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);
        (await stream.NextAsync("processes")).Dispose();

        _sample.WriteService("worker", ServiceState.Backoff, DateTimeOffset.UtcNow, pid: 0);
        // The service's directory can be seen (and pushed, as 'missing') before its status.json lands: wait for the
        // push that carries the written state.
        using var update = await stream.NextAsync("processes", d => d.At("services").EnumerateArray()
            .Any(s => s.GetProperty("name").GetString() == "worker" && s.GetProperty("state").GetString() == "backoff"));

        Assert.Equal(3, update.At("services").GetArrayLength());
    }

    [Fact(Timeout = 120_000)]
    public async Task Streams_beyond_the_cap_get_503_so_the_page_falls_back_to_polling()
    {
        await using var first = await SseClient.ConnectAsync(_server.Client);
        await using var second = await SseClient.ConnectAsync(_server.Client);
        (await first.NextAsync("hello")).Dispose();
        (await second.NextAsync("hello")).Dispose();

        using var third = await _server.Client.GetAsync("api/stream", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task With_watching_off_polling_still_delivers_changes()
    {
        await using var server = await DashboardServer.StartInProcessAsync(new DashboardOptions
        {
            StateDirectory = _sample.Root,
            UseFileSystemWatch = false,
            PollInterval = TimeSpan.FromMilliseconds(200),
        });
        await using var stream = await SseClient.ConnectAsync(server.Client);
        (await stream.NextAsync("training")).Dispose();

        _sample.WriteTraining(epoch: 11);
        using var update = await stream.NextAsync("training", d => d.At("status", "document", "current_epoch").GetInt32() == 11);
        using var status = await Json.GetAsync(server.Client, "api/status");

        Assert.Equal("poll", status.At("dashboard", "watch_mode").GetString());
    }
}
