using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Issue #24: a live service's CPU, memory and GPU memory go into its history once a heartbeat, per run for a trainer.</summary>
public sealed class SystemMetricsTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_running_service_gets_a_point_a_heartbeat_with_its_pid_and_its_memory()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("holder", ServiceKind.Program, "alloc", "--mb", "64") with { HeartbeatIntervalMs = 1000 });
        var path = SystemMetricsHistory.PathFor(h.State, "holder", runId: null);

        var points = await SupervisorHarness.EventuallyAsync(
            () => SystemMetricsHistory.Read(path).Points, p => p is { Count: >= 3 } && p[^1].MemoryMb >= 64, "three points, the last with the 64 MB held");

        Assert.Equal(path, Path.Combine(h.State.ServiceDirectory("holder"), "system_metrics.jsonl"));
        Assert.All(points, p => Assert.Equal(started.Pid, p.Pid));
        Assert.All(points, p => Assert.Equal((1, 0L), (p.Samples, p.SpanMs)));
        Assert.Equal(points.OrderBy(p => p.Time), points);
        Assert.InRange(points[^1].MemoryMb, 64, 2048);
        Assert.Equal(points[^1].MemoryMb, points[^1].MemoryMaxMb);
        Assert.InRange((points[^1].Time - points[^2].Time).TotalSeconds, 0.5, 3);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_trainers_history_is_kept_in_its_runs_folder()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("trainer", ServiceKind.Training, "sleep") with { RunId = "run-metrics", HeartbeatIntervalMs = 1000, ReadyOnHeartbeat = false };
        var started = await h.StartAsync(spec);
        var path = SystemMetricsHistory.PathFor(h.State, "trainer", "run-metrics");

        var points = await SupervisorHarness.EventuallyAsync(() => SystemMetricsHistory.Read(path).Points, p => p is { Count: >= 1 }, "a point in the run's history");

        Assert.Equal(Path.Combine(h.State.Run("run-metrics").Directory, "system_metrics.jsonl"), path);
        Assert.Equal(started.Pid, points[0].Pid);
        Assert.False(File.Exists(SystemMetricsHistory.PathFor(h.State, "trainer", runId: null)));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_link_at_the_history_is_refused_with_an_event_and_the_heartbeat_goes_on()
    {
        await using var h = new SupervisorHarness();
        h.State.EnsureServiceDirectory("linked");
        var victim = Path.Combine(h.State.Root, "victim.txt");
        File.WriteAllText(victim, "precious\n");
        File.CreateSymbolicLink(SystemMetricsHistory.PathFor(h.State, "linked", runId: null), victim);

        await h.StartAsync(SupervisorHarness.Dummy("linked", ServiceKind.Program, "sleep") with { HeartbeatIntervalMs = 1000 });
        await h.WaitForEventAsync("linked", "unsafe_file");
        var first = h.Manager.GetStatus("linked")?.LastHeartbeat;
        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus("linked")?.LastHeartbeat, beat => beat > first, "a later heartbeat");

        Assert.Equal("precious\n", File.ReadAllText(victim));
        Assert.Contains(h.Manager.GetEvents("linked", type: "unsafe_file"), e => e.Data!["path"].EndsWith("system_metrics.jsonl", StringComparison.Ordinal));
    }
}
