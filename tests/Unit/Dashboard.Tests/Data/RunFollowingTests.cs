using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Data;

/// <summary>The dashboard shows the run the training service works on, and follows it to a new run (in-process Kestrel).</summary>
public sealed class RunFollowingTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly SampleState _sample = new();
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        _sample.Populate(metricRecords: 50);
        _server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = _sample.Root, PollInterval = TimeSpan.FromMilliseconds(250) });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_new_run_of_the_training_service_replaces_the_old_runs_documents_and_history()
    {
        using var before = await Eventually.UntilAsync(() => Json.GetAsync(_server.Client, "api/metrics"), d => d.At("total").GetInt32() == 50, Wait, "run-1's 50 records");

        // A new start: the service's status names run-2, whose trainer has written its first documents.
        var second = new SharedDataManager(_sample.State, run: _sample.State.EnsureRun("run-2"));
        second.WriteTrainingStatus(new TrainingStatus { RunId = "run-2", State = TrainerState.Running, IsRunning = true, CurrentEpoch = 7, TotalEpochs = 9, Heartbeat = DateTimeOffset.UtcNow });
        var now = DateTimeOffset.UtcNow;
        second.Metrics.AppendRange([
            new MetricRecord { Time = now, RunId = "run-2", Kind = MetricKind.Epoch, Epoch = 1, ValLoss = 0.5, Scalars = new Dictionary<string, double> { ["grad_norm"] = 1.25 } },
            new MetricRecord { Time = now.AddSeconds(1), RunId = "run-2", Kind = MetricKind.Epoch, Epoch = 2, ValLoss = 0.4, Scalars = new Dictionary<string, double> { ["grad_norm"] = 0.75 } },
        ]);
        _sample.Data.Store.Write(_sample.State.ServiceStatusPath("training"), new ProcessStatus
        {
            Name = "training", Kind = "training", Status = ServiceState.Running, Pid = 4242, LastHeartbeat = DateTimeOffset.UtcNow, RunId = "run-2",
        });

        using var status = await Eventually.UntilAsync(() => Json.GetAsync(_server.Client, "api/status"),
            d => d.At("training", "status", "document") is { ValueKind: JsonValueKind.Object } doc && doc.GetProperty("current_epoch").GetInt32() == 7, Wait, "run-2's status");
        using var metrics = await Eventually.UntilAsync(() => Json.GetAsync(_server.Client, "api/metrics"), d => d.At("total").GetInt32() == 2, Wait, "run-2's records only");

        Assert.Equal("run-2", status.At("training", "status", "document", "run_id").GetString());
        var records = metrics.At("records").EnumerateArray().ToList();
        Assert.All(records, r => Assert.Equal("run-2", r.GetProperty("run_id").GetString()));
        // Custom scalars pass through the API as the trainer wrote them.
        Assert.Equal([1.25, 0.75], records.Select(r => r.GetProperty("scalars").GetProperty("grad_norm").GetDouble()));
    }
}
