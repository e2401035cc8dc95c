using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Tests.Data;

/// <summary>The API names states and kinds with the status files' words, and still shows a record or document from a newer writer with a word this version does not know (in-process Kestrel).</summary>
public sealed class VocabularyTests : IAsyncLifetime
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

    [Fact(Timeout = 120_000)]
    public async Task A_trainer_state_this_version_does_not_know_is_shown_as_unknown_with_the_rest_of_the_status()
    {
        _sample.WriteTraining(epoch: 6);
        var path = _sample.Run.TrainingStatusPath;
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"state\":\"running\"", "\"state\":\"evaluating\"", StringComparison.Ordinal));

        using var doc = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/status"), d => d.At("training", "state").GetString() == "unknown", Wait, "training state 'unknown'");

        Assert.Equal("ok", doc.At("training", "status", "state").GetString());
        Assert.Equal(6, doc.At("training", "status", "document", "current_epoch").GetInt32());
        Assert.Equal("unknown", doc.At("training", "status", "document", "state").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_metric_record_of_a_kind_this_version_does_not_know_is_listed_as_unknown_and_never_as_an_epoch()
    {
        var now = DateTimeOffset.UtcNow;
        var epoch = new MetricRecord { Time = now, RunId = "run-1", Kind = MetricKind.Epoch, Epoch = 1, ValLoss = 0.5 };
        // A newer writer's kind, for the same epoch: were it taken for an epoch summary it would replace the one before.
        var newer = Line(epoch with { Time = now.AddSeconds(1), ValLoss = 0.25 }).Replace("\"kind\":\"epoch\"", "\"kind\":\"eval\"", StringComparison.Ordinal);
        Assert.Contains("\"eval\"", newer, StringComparison.Ordinal);
        File.AppendAllText(_sample.Run.MetricsLogPath, Line(epoch) + newer);

        using var all = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/metrics?kind=all"), d => d.At("total").GetInt32() == 2, Wait, "both records");
        using var epochs = await Json.GetAsync(_server.Client, "api/metrics?kind=epoch");

        Assert.Equal(["epoch", "unknown"], all.At("records").EnumerateArray().Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal(0, all.At("skipped_lines").GetInt32());
        Assert.Equal([0.5], epochs.At("records").EnumerateArray().Select(r => r.GetProperty("val_loss").GetDouble()));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_downsampled_point_that_averages_steps_and_epochs_is_of_kind_mixed()
    {
        var now = DateTimeOffset.UtcNow;
        _sample.Data.Metrics.AppendRange([
            new MetricRecord { Time = now, RunId = "run-1", Kind = MetricKind.Step, Step = 1, TrainLoss = 1 },
            new MetricRecord { Time = now.AddSeconds(1), RunId = "run-1", Kind = MetricKind.Epoch, Epoch = 1, Step = 2, TrainLoss = 3 },
            new MetricRecord { Time = now.AddSeconds(2), RunId = "run-1", Kind = MetricKind.Step, Step = 3, TrainLoss = 5 },
        ]);

        using var doc = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/metrics?max_points=2"), d => d.At("total").GetInt32() == 3, Wait, "three records");

        Assert.Equal(["mixed", "step"], doc.At("records").EnumerateArray().Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal(2, doc.At("records")[0].GetProperty("train_loss").GetDouble());
    }

    private static string Line(MetricRecord record) => JsonSerializer.Serialize(record, StatusJson.TypeInfo<MetricRecord>()) + "\n";
}
