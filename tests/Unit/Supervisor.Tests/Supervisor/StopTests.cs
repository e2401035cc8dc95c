using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Two-stage stops with real process trees.</summary>
public sealed class StopTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_SIGTERM_ignoring_service_is_killed_after_the_stop_timeout()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("stubborn", ServiceKind.Program, "ignore-sigterm") with { StopTimeoutMs = 1500 });
        var service = ProcessIdentity.Of(started.Pid)!.Value;
        // Running (its 300 ms start grace over) is not yet ignoring SIGTERM: on a busy machine the dummy's own start-up
        // can take longer. It says "ready" once its handler is in place.
        await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("stubborn", 10), l => l?.Contains("ready") == true, "the dummy's SIGTERM handler");

        var clock = Stopwatch.StartNew();
        var stopped = await h.Manager.StopAsync("stubborn", null, false, null, SupervisorHarness.Token);
        clock.Stop();

        Assert.Equal(ServiceState.Stopped, stopped.State);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1400), TimeSpan.FromSeconds(8));
        Assert.False(service.IsAlive());
        Assert.Single(h.Manager.GetEvents("stubborn", type: "stop_timeout"));
        Assert.Contains("ignoring SIGTERM", h.Manager.ReadLog("stubborn", 10));
    }

    [Fact(Timeout = 300_000)]
    public async Task No_process_of_a_stopped_tree_remains_not_even_a_double_forked_grandchild()
    {
        await using var h = new SupervisorHarness();
        var pidFile = Path.Combine(h.State.Root, "tree.pids");
        var started = await h.StartAsync(SupervisorHarness.Dummy("tree", ServiceKind.Program, "spawn-tree", "--pid-file", pidFile, "--children", "2"));
        var pids = await SupervisorHarness.EventuallyAsync(
            () => File.Exists(pidFile) ? File.ReadAllLines(pidFile) : [], l => l is { Length: 3 }, "the tree's pid file");
        var tree = pids.Select(p => ProcessIdentity.Of(int.Parse(p, CultureInfo.InvariantCulture))!.Value).Append(ProcessIdentity.Of(started.Pid)!.Value).ToList();
        Assert.All(tree, p => Assert.True(p.IsAlive()));
        // The double-forked one leaves the service's session (once its setsid ran) and is adopted by the supervisor (the subreaper).
        var escaped = await SupervisorHarness.EventuallyAsync(() => ProcessTable.Read(tree[2].Pid),
            e => e is not null && e.SessionId != started.Pid && e.ParentPid == started.SupervisorPid, "the grandchild to escape into its own session");
        Assert.Equal(escaped.Pid, escaped.SessionId);

        var stopped = await h.Manager.StopAsync("tree", TimeSpan.FromSeconds(2), false, null, SupervisorHarness.Token);

        Assert.Equal(ServiceState.Stopped, stopped.State);
        Assert.All(tree, p => Assert.False(p.IsAlive(), $"pid {p.Pid} survived the stop"));
        // Not even as a zombie: the supervisor reaped what it adopted.
        Assert.All(tree, p => Assert.Null(ProcessTable.Read(p.Pid) is { } e && e.StartTicks == p.StartTicks ? e : null));
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.SupervisorPid, stopped.Status!.SupervisorStartTicks));
        Assert.Empty(h.ProcessesOfThisTest());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_forced_stop_kills_at_once()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("stubborn", ServiceKind.Program, "ignore-sigterm"));
        var clock = Stopwatch.StartNew();
        var stopped = await h.Manager.StopAsync("stubborn", null, force: true, null, SupervisorHarness.Token);
        Assert.Equal(ServiceState.Stopped, stopped.State);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a forced stop took {clock.Elapsed}");
        Assert.False(ProcessIdentity.Of(started.Pid) is { } p && p.StartTicks == stopped.Status!.PidStartTicks);
        Assert.Empty(h.Manager.GetEvents("stubborn", type: "stop_timeout"));
    }

    [Fact(Timeout = 300_000)]
    public async Task An_output_flood_keeps_disk_use_bounded()
    {
        await using var h = new SupervisorHarness();
        const long maxBytes = 256 * 1024;
        await h.StartAsync(SupervisorHarness.Dummy("flood", ServiceKind.Program, "flood", "--total-mb", "8") with { LogMaxBytes = maxBytes, LogMaxFiles = 2 });

        // 8 MiB went through a log capped at 3 × 256 KiB: wait for the flood's last line, then measure.
        await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("flood", 1), l => l is ["done"], "the end of the flood", TimeSpan.FromSeconds(60));
        var files = Directory.GetFiles(h.State.ServiceLogDirectory("flood"), "stdout.log*");
        Assert.Equal(["stdout.log", "stdout.log.1", "stdout.log.2"], files.Select(Path.GetFileName).Order());
        // The two rotated files are full but for the last chunk that did not fit (at most one 64 KiB pipe read each).
        Assert.InRange(files.Sum(f => new FileInfo(f).Length), 2 * (maxBytes - (64 * 1024)), 3 * maxBytes);
    }

    [Fact(Timeout = 300_000)]
    public async Task Output_over_the_rate_limit_makes_the_service_wait_and_loses_nothing()
    {
        await using var h = new SupervisorHarness();
        const long limit = 2 * 1024 * 1024;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await h.StartAsync(SupervisorHarness.Dummy("flood", ServiceKind.Program, "flood", "--total-mb", "6") with
        {
            LogMaxBytes = 64 * 1024 * 1024, LogRateLimitBytesPerSecond = limit,
        });

        await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("flood", 1), l => l is ["done"], "the end of the flood", TimeSpan.FromSeconds(60));

        // 6 MiB at 2 MiB/s: the capture took at least the two full seconds before the last window, and every byte is there.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"6 MiB were captured in {clock.Elapsed.TotalSeconds:0.00} s, faster than 2 MiB/s allows.");
        // The dummy writes whole chunks of 64 lines of 100 bytes until it has written at least 6 MiB.
        const long chunk = 64 * 100;
        Assert.Equal(((6L * 1024 * 1024) + chunk - 1) / chunk * chunk + "done\n".Length, new FileInfo(Path.Combine(h.State.ServiceLogDirectory("flood"), "stdout.log")).Length);
        var throttled = Assert.Single(h.Manager.GetEvents("flood", type: "log_throttled"));
        Assert.Equal("stdout", throttled.Data!["stream"]);
    }
}
