using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>Issue #16: readers judge a supervisor stale against the heartbeat interval it announced, with a floor.</summary>
public sealed class LivenessTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 22, 0, 0, TimeSpan.Zero);

    private static ProcessStatus Beating(double secondsAgo, int? intervalMs) => new()
    {
        Name = "svc", Status = ServiceState.Running, LastHeartbeat = Now.AddSeconds(-secondsAgo), HeartbeatIntervalMs = intervalMs,
    };

    [Fact(Timeout = 120_000)]
    public void A_supervisor_is_stale_after_three_missed_heartbeats_of_the_interval_it_announced()
    {
        Assert.False(Liveness.IsStale(Beating(14, 5000), Now, Liveness.SupervisorStaleAfter));
        Assert.True(Liveness.IsStale(Beating(16, 5000), Now, Liveness.SupervisorStaleAfter));
        Assert.False(Liveness.IsStale(Beating(170, 60_000), Now, Liveness.SupervisorStaleAfter));
        Assert.True(Liveness.IsStale(Beating(181, 60_000), Now, Liveness.SupervisorStaleAfter));
    }

    [Fact(Timeout = 120_000)]
    public void A_fast_or_older_supervisor_is_judged_by_the_readers_floor()
    {
        // 3 × 1 s is under the 5 s floor; a status without the field comes from a supervisor that beat every second.
        Assert.False(Liveness.IsStale(Beating(4.5, 1000), Now, Liveness.SupervisorStaleAfter));
        Assert.True(Liveness.IsStale(Beating(5.5, 1000), Now, Liveness.SupervisorStaleAfter));
        Assert.True(Liveness.IsStale(Beating(5.5, null), Now, Liveness.SupervisorStaleAfter));
        Assert.Equal(TimeSpan.FromSeconds(5), Liveness.SupervisorStaleBound(Beating(0, null), Liveness.SupervisorStaleAfter));
    }

    [Fact(Timeout = 120_000)]
    public void A_final_state_is_never_stale()
    {
        Assert.False(Liveness.IsStale(Beating(3600, 5000) with { Status = ServiceState.Stopped }, Now, Liveness.SupervisorStaleAfter));
    }

    [Fact(Timeout = 120_000)]
    public void The_heartbeat_interval_and_cpu_policy_are_checked_and_defaulted_by_kind()
    {
        Assert.Equal(ServiceSpec.DefaultHeartbeatIntervalMs, ServiceSpec.ForKind(ServiceKind.Training, "t", "/bin/true").HeartbeatIntervalMs);
        Assert.Null(ServiceSpec.ForKind(ServiceKind.Training, "t", "/bin/true").CpuPolicy);
        Assert.Equal(ServiceSpec.CpuPolicyIdle, ServiceSpec.ForKind(ServiceKind.Dashboard, "d", "/bin/true").CpuPolicy);
        Assert.Null(ServiceSpec.ForKind(ServiceKind.Program, "p", "/bin/true").CpuPolicy);

        var bad = ServiceSpec.ForKind(ServiceKind.Program, "p", "/bin/true") with { HeartbeatIntervalMs = 500, CpuPolicy = "realtime" };
        var problems = Assert.Throws<Errors.ConfigurationException>(() => bad.Validate()).Message;
        Assert.Contains("heartbeat_interval_ms", problems, StringComparison.Ordinal);
        Assert.Contains("cpu_policy", problems, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_dead_supervisor_of_a_live_state_died_at_its_post_and_one_of_a_final_state_or_alive_did_not()
    {
        using var dead = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
        var ticks = Engine.Platform.ProcessIdentity.Of(dead.Id)?.StartTicks ?? 1;
        dead.WaitForExit();
        var self = Engine.Platform.ProcessIdentity.Current;
        var killed = new ProcessStatus { Name = "svc", Status = ServiceState.Running, SupervisorPid = dead.Id, SupervisorStartTicks = ticks, Host = Environment.MachineName };

        Assert.True(Liveness.SupervisorDiedAtItsPost(killed, self));
        Assert.False(Liveness.SupervisorDiedAtItsPost(killed with { Status = ServiceState.Stopped }, self));
        Assert.False(Liveness.SupervisorDiedAtItsPost(killed with { Status = ServiceState.Fatal }, self));
        Assert.False(Liveness.SupervisorDiedAtItsPost(killed with { Host = "elsewhere" }, self));
        Assert.False(Liveness.SupervisorDiedAtItsPost(killed with { SupervisorPid = self.Pid, SupervisorStartTicks = self.StartTicks }, self));
        Assert.False(Liveness.SupervisorDiedAtItsPost(killed with { SupervisorPid = self.Pid, SupervisorStartTicks = self.StartTicks }), "a live supervisor is no dead one");
        Assert.False(Liveness.SupervisorDiedAtItsPost(null, self));
    }
}
