using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Dashboard.Tests.Api;

/// <summary>A Slurm service's row names its job and node, from the state directory alone (in-process Kestrel).</summary>
public sealed class SlurmProcessTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_slurm_service_shows_its_job_id_and_the_node_it_runs_on()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        sample.Data.Store.Write(SlurmLauncher.RecordPath(sample.State, "training"), new SlurmJobRecord { JobId = "4711", SubmittedAt = SampleState.Start, SubmitHost = "login1" });
        sample.Data.Store.Write(sample.State.ServiceStatusPath("training"), new ProcessStatus
        {
            Name = "training", Kind = "training", Status = ServiceState.Running, Pid = 4242, LastHeartbeat = DateTimeOffset.UtcNow, Host = "node7",
        });
        await using var server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = sample.Root, ProcessStaleAfter = TimeSpan.FromHours(1) });

        using var view = await Eventually.UntilAsync(() => Json.GetAsync(server.Client, "api/processes"),
            d => d.At("services").EnumerateArray().Any(s => s.GetProperty("name").GetString() == "training"), TimeSpan.FromSeconds(15), "the training service");

        var training = view.At("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "training");
        Assert.Equal("4711", training.GetProperty("slurm").GetProperty("job_id").GetString());
        Assert.Equal("node7", training.GetProperty("slurm").GetProperty("node").GetString());
        var dashboard = view.At("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "dashboard");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, dashboard.GetProperty("slurm").ValueKind);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_queued_job_shows_why_Slurm_holds_it_and_a_newer_answer_arrives_on_the_stream()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        // As the submit leaves it: the record with what scontrol said, and no status yet (the supervisor is not running).
        var recordPath = SlurmLauncher.RecordPath(sample.State, "sweep");
        sample.State.EnsureServiceDirectory("sweep");
        var observed = SampleState.Start.AddMinutes(3);
        sample.Data.Store.Write(recordPath, new SlurmJobRecord
        {
            JobId = "4712", SubmittedAt = SampleState.Start, SubmitHost = "login1", JobState = "PENDING", Reason = "Resources", ObservedAt = observed,
        });
        await using var server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = sample.Root, ProcessStaleAfter = TimeSpan.FromHours(1) });
        await using var stream = await SseClient.ConnectAsync(server.Client);

        using var first = await stream.NextAsync("processes", d => Sweep(d) is { } s && s.GetProperty("slurm").ValueKind != JsonValueKind.Null, TimeSpan.FromSeconds(15));
        var queued = Sweep(first)!.Value.GetProperty("slurm");
        Assert.Equal("4712", queued.GetProperty("job_id").GetString());
        Assert.Equal("PENDING", queued.GetProperty("state").GetString());
        Assert.Equal("Resources", queued.GetProperty("reason").GetString());
        Assert.Equal(observed, queued.GetProperty("observed_at").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, queued.GetProperty("node").ValueKind);

        // A later Get-ProcessStatus saw it start on a node (its supervisor has not written yet).
        sample.Data.Store.Update<SlurmJobRecord>(recordPath, r => r! with { JobState = "RUNNING", Reason = null, Node = "node7", ObservedAt = observed.AddMinutes(1) });

        using var next = await stream.NextAsync("processes", d => Sweep(d)?.GetProperty("slurm").GetProperty("state").GetString() == "RUNNING", TimeSpan.FromSeconds(15));
        var running = Sweep(next)!.Value.GetProperty("slurm");
        Assert.Equal("node7", running.GetProperty("node").GetString());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("reason").ValueKind);
    }

    private static JsonElement? Sweep(JsonDocument processes) =>
        processes.RootElement.GetProperty("services").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "sweep").Cast<JsonElement?>().FirstOrDefault();
}
