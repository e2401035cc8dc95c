using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Never two live instances of one service; control requests; status seen from anywhere.</summary>
public sealed class SingleInstanceTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_SIGKILLed_supervisor_never_yields_duplicate_services()
    {
        await using var h = new SupervisorHarness();
        var first = await h.StartAsync(SupervisorHarness.Dummy("solo", ServiceKind.Program, "sleep"));
        var orphan = ProcessIdentity.Of(first.Pid)!.Value;
        var supervisor = new ProcessIdentity(first.SupervisorPid, first.Status!.SupervisorStartTicks);

        Assert.True(Native.Signal(supervisor.Pid, Native.SIGKILL));
        await SupervisorHarness.WaitGoneAsync(supervisor);

        // The service outlived its supervisor: it still runs (and would be taken back by the next heal), and a new start
        // ends it before starting anew.
        var unsupervised = h.Manager.GetStatus("solo");
        Assert.Equal(ServiceState.Running, unsupervised.State);
        Assert.Contains("supervisor restarting", unsupervised.ErrorMessage);
        Assert.True(orphan.IsAlive());

        var second = await h.StartAsync(SupervisorHarness.Dummy("solo", ServiceKind.Program, "sleep"));
        Assert.False(orphan.IsAlive());
        Assert.NotEqual(first.Pid, second.Pid);
        Assert.Single(h.Manager.GetEvents("solo", type: "orphan_killed"));
        var dummies = h.ProcessesOfThisTest().Where(p => File.ReadAllText($"/proc/{p}/cmdline").Contains("stability-dummy", StringComparison.Ordinal)).ToList();
        Assert.Equal([second.Pid], dummies);

        // The new supervisor says whom it replaced (issue #24: supervisor_replaced), once, and the handed-over status is gone.
        var replaced = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("solo", type: "supervisor_replaced"), e => e is { Count: > 0 }, "the supervisor_replaced event");
        Assert.Equal(supervisor.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(replaced).Data!["previous_supervisor_pid"]);
        Assert.Contains($"pid {first.Pid}", replaced[0].Message);
        Assert.False(File.Exists(h.State.ServicePreviousStatusPath("solo")));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_replacement_supervisor_takes_the_running_service_back_and_restarts_it_when_it_then_dies()
    {
        await using var h = new SupervisorHarness();
        var first = await h.StartAsync(SupervisorHarness.Dummy("solo", ServiceKind.Program, "sleep"));
        var supervisor = new ProcessIdentity(first.SupervisorPid, first.Status!.SupervisorStartTicks);
        Assert.True(Native.Signal(supervisor.Pid, Native.SIGKILL));
        await SupervisorHarness.WaitGoneAsync(supervisor);

        var healed = await h.Manager.HealSupervisorsAsync(SupervisorHarness.Token);

        var back = Assert.Single(healed).Info!;
        Assert.Equal(first.Pid, back.Pid);
        Assert.NotEqual(first.SupervisorPid, back.SupervisorPid);
        Assert.Equal(ServiceState.Running, back.State);
        Assert.NotNull(back.Status!.AdoptedAt);
        Assert.Contains(first.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(h.Manager.GetEvents("solo", type: "supervisor_replaced")).Message);
        Assert.Single(h.Manager.GetEvents("solo", type: "started"));
        Assert.Empty(await h.Manager.HealSupervisorsAsync(SupervisorHarness.Token));

        // Dead under its new supervisor, which is not its parent: noticed all the same, and restarted as any crash is.
        Assert.True(Native.Signal(first.Pid, Native.SIGKILL));
        var restarted = await h.RunningWithNewPidAsync("solo", first.Pid);
        Assert.Equal(back.SupervisorPid, restarted.SupervisorPid);
        Assert.Contains("not known", h.Manager.GetEvents("solo", type: "exited").Last().Message);
        var dummies = h.ProcessesOfThisTest().Where(p => File.ReadAllText($"/proc/{p}/cmdline").Contains("stability-dummy", StringComparison.Ordinal)).ToList();
        Assert.Equal([restarted.Pid], dummies);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_new_start_after_a_SIGKILLed_supervisor_ends_even_the_grandchildren_that_escaped()
    {
        if (!UserAccount.IsRoot || !File.Exists(Path.Combine(ServiceCgroup.FreezerRoot, "cgroup.procs")))
        {
            Assert.Skip("Needs root and a cgroup v1 freezer: elsewhere an escaped grandchild of a dead supervisor is out of reach.");
            return;
        }

        await using var h = new SupervisorHarness();
        var pidFile = Path.Combine(h.State.Root, "tree.pids");
        var first = await h.StartAsync(SupervisorHarness.Dummy("tree", ServiceKind.Program, "spawn-tree", "--pid-file", pidFile, "--children", "1"));
        var pids = await SupervisorHarness.EventuallyAsync(() => File.Exists(pidFile) ? File.ReadAllLines(pidFile) : [], l => l is { Length: 2 }, "the tree's pid file");
        var escaped = await SupervisorHarness.EventuallyAsync(() => ProcessTable.Read(int.Parse(pids[1], System.Globalization.CultureInfo.InvariantCulture)),
            e => e is not null && e.ParentPid == first.SupervisorPid && e.SessionId == e.Pid, "the grandchild to escape into its own session");
        var old = new[] { ProcessIdentity.Of(first.Pid)!.Value, ProcessIdentity.Of(int.Parse(pids[0], System.Globalization.CultureInfo.InvariantCulture))!.Value, new ProcessIdentity(escaped.Pid, escaped.StartTicks) };

        var supervisor = new ProcessIdentity(first.SupervisorPid, first.Status!.SupervisorStartTicks);
        Native.Signal(supervisor.Pid, Native.SIGKILL);
        await SupervisorHarness.WaitGoneAsync(supervisor);
        // Its subreaper gone, the escaped grandchild now belongs to some other ancestor, out of the service's session and group.
        await SupervisorHarness.EventuallyAsync(() => ProcessTable.Read(escaped.Pid), e => e is not null && e.ParentPid != supervisor.Pid, "the grandchild to be re-parented");
        Assert.All(old, p => Assert.True(p.IsAlive()));

        File.Delete(pidFile);
        var second = await h.StartAsync(SupervisorHarness.Dummy("tree", ServiceKind.Program, "spawn-tree", "--pid-file", pidFile, "--children", "1"));

        Assert.All(old, p => Assert.False(p.IsAlive(), $"pid {p.Pid} of the first run survived"));
        Assert.Equal(ServiceState.Running, second.State);
        Assert.Contains("3 process(es)", Assert.Single(h.Manager.GetEvents("tree", type: "orphan_killed")).Message);
    }

    [Fact(Timeout = 300_000)]
    public async Task Starting_a_running_service_again_is_refused_and_a_second_supervisor_exits()
    {
        await using var h = new SupervisorHarness();
        var running = await h.StartAsync(SupervisorHarness.Dummy("solo", ServiceKind.Program, "sleep"));

        var ex = await Assert.ThrowsAsync<ServiceAlreadyRunningException>(() => h.StartAsync(SupervisorHarness.Dummy("solo", ServiceKind.Program, "sleep")));
        Assert.Equal("ServiceAlreadyRunning", ex.ErrorId);
        Assert.Equal(running.SupervisorPid, ex.SupervisorPid);

        // Even started by hand, a second supervisor refuses: it cannot take the supervisor lock.
        using var second = TestPrograms.Start(TestPrograms.SupervisorPath, ["--state-dir", h.State.Root, "--service", "solo"]);
        Assert.True(second.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(75, second.ExitCode);
        Assert.Contains("never two", second.StandardError.ReadToEnd());
        Assert.Equal(running.Pid, h.Manager.GetStatus("solo").Pid);
    }

    [Fact(Timeout = 300_000)]
    public async Task Control_requests_are_acknowledged_and_a_restart_replaces_the_process()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("ctl", ServiceKind.Program, "sleep"));

        var clock = Stopwatch.StartNew();
        var ack = await h.Manager.SendAsync("ctl", ControlRequest.Create(ControlCommand.ReloadLimits), SupervisorHarness.Token);
        clock.Stop();
        Assert.Equal("ok", ack.Outcome);
        Assert.Equal("reload-limits", ack.Command);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the acknowledgement took {clock.Elapsed.TotalMilliseconds:0} ms");
        TestContext.Current.SendDiagnosticMessage($"reload-limits acknowledged in {clock.Elapsed.TotalMilliseconds:0.0} ms");

        var restarted = await h.Manager.RestartAsync("ctl", null, SupervisorHarness.Token);
        Assert.Equal(ServiceState.Running, restarted.State);
        Assert.NotEqual(started.Pid, restarted.Pid);
        Assert.False(ProcessIdentity.Of(started.Pid) is { } p && p.StartTicks == started.Status!.PidStartTicks);
        var control = h.Manager.GetEvents("ctl", type: "control");
        Assert.Equal(2, control.Count);
        Assert.Equal(Environment.UserName, control[1].Data!["requested_by_user"]);
        // The requester is the control file's owner as the kernel reports it; the pid the writer wrote is only a claim.
        Assert.Equal(StabilityTools.Engine.Platform.Native.GetEffectiveUserId().ToString(System.Globalization.CultureInfo.InvariantCulture), control[1].Data!["requested_by_uid"]);
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), control[1].Data!["claimed_pid"]);
    }

    [Fact(Timeout = 300_000)]
    public async Task An_unknown_service_is_reported_by_name()
    {
        await using var h = new SupervisorHarness();
        var ex = Assert.Throws<ServiceNotFoundException>(() => h.Manager.GetStatus("nope"));
        Assert.Equal("ServiceNotFound", ex.ErrorId);
        Assert.Contains("'nope'", ex.Message);
        await Assert.ThrowsAsync<ServiceNotFoundException>(() => h.Manager.StopAsync("nope", null, false, null, SupervisorHarness.Token));
    }
}
