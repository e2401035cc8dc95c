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
}
