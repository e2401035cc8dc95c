using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Data;

/// <summary>Missing, corrupt, oversized and stale files are states the API shows, never errors (in-process Kestrel).</summary>
public sealed class DegradedStateTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly SampleState _sample = new();
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = _sample.Root, PollInterval = TimeSpan.FromMilliseconds(250) });

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    private Task<JsonDocument> TrainingWhere(string state) => Eventually.UntilAsync(
        () => Json.GetAsync(_server.Client, "api/status"),
        doc => doc.At("training", "state").GetString() == state,
        Wait,
        $"training state '{state}'");

    [Fact(Timeout = 120_000)]
    public async Task A_missing_training_status_is_shown_as_missing()
    {
        using var doc = await TrainingWhere("missing");

        Assert.Equal("missing", doc.At("training", "status", "state").GetString());
        Assert.Equal(JsonValueKind.Null, doc.At("training", "status", "document").ValueKind);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_corrupt_training_status_is_shown_as_corrupt_with_the_reason_and_recovers_when_rewritten()
    {
        File.WriteAllText(_sample.Run.TrainingStatusPath, "{\"schema\":\"training_status/1\", \"current_epo");

        using var corrupt = await TrainingWhere("corrupt");
        _sample.WriteTraining(epoch: 4);
        using var recovered = await TrainingWhere("running");

        Assert.Contains("not valid JSON", corrupt.At("training", "status", "error").GetString());
        Assert.Equal(4, recovered.At("training", "status", "document", "current_epoch").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_document_of_another_schema_is_shown_as_corrupt()
    {
        File.WriteAllText(_sample.Run.TrainingStatusPath, "{\"schema\":\"market_data/1\",\"seq\":1}");

        using var doc = await TrainingWhere("corrupt");

        Assert.Contains("expected 'training_status/1'", doc.At("training", "status", "error").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task An_oversized_market_file_is_shown_as_oversized_without_being_read()
    {
        File.WriteAllBytes(_sample.Run.MarketDataPath, new byte[5 * 1024 * 1024]);

        using var doc = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/market"), d => d.At("state").GetString() == "oversized", Wait, "market oversized");

        Assert.Contains("cap", doc.At("error").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_running_trainer_with_an_old_heartbeat_is_shown_as_stale()
    {
        _sample.WriteTraining(epoch: 5, heartbeat: DateTimeOffset.UtcNow.AddMinutes(-10));

        using var doc = await TrainingWhere("stale");

        Assert.Equal("stale", doc.At("training", "status", "state").GetString());
        Assert.InRange(doc.At("training", "heartbeat_age_seconds").GetDouble(), 590, 700);
        Assert.Equal(5, doc.At("training", "status", "document", "current_epoch").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_completed_run_is_not_stale_however_old_its_heartbeat()
    {
        _sample.WriteTraining(epoch: 20, state: TrainerState.Completed, heartbeat: DateTimeOffset.UtcNow.AddHours(-3));

        using var doc = await TrainingWhere("completed");

        Assert.Equal("ok", doc.At("training", "status", "state").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Corrupt_metric_lines_are_skipped_and_counted_while_valid_ones_are_kept()
    {
        _sample.AppendMetrics(2);
        File.AppendAllText(_sample.Run.MetricsLogPath, "this is not json\n");
        _sample.AppendMetrics(1);

        using var doc = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/metrics"), d => d.At("total").GetInt32() == 3, Wait, "3 metric records");

        Assert.Equal(1, doc.At("skipped_lines").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_state_directory_that_appears_later_is_picked_up()
    {
        using var parent = new TempDirectory("st-late");
        var root = parent.File("state");
        await using var server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = root, PollInterval = TimeSpan.FromMilliseconds(200) });
        using var before = await Json.GetAsync(server.Client, "api/status");

        var state = Engine.State.StateDirectory.Open(root);
        new Engine.State.SharedDataManager(state, run: state.EnsureRun("late-run")).WriteTrainingStatus(new TrainingStatus { State = TrainerState.Running, IsRunning = true, CurrentEpoch = 1, TotalEpochs = 2, Heartbeat = DateTimeOffset.UtcNow });
        using var after = await Eventually.UntilAsync(
            () => Json.GetAsync(server.Client, "api/status"), d => d.At("training", "state").GetString() == "running", Wait, "the late state directory");

        Assert.False(before.At("dashboard", "is_connected").GetBoolean());
        Assert.Equal("missing", before.At("training", "state").GetString());
        Assert.True(after.At("dashboard", "is_connected").GetBoolean());
    }
}
