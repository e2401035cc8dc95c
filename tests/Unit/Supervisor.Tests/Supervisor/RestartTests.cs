using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Restarts with real processes: crashes, hangs, the circuit breaker.</summary>
public sealed class RestartTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_SIGKILLed_service_is_restarted()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("victim", ServiceKind.Program, "sleep"));
        Assert.Equal(ServiceState.Running, started.State);
        var first = ProcessIdentity.Of(started.Pid)!.Value;

        Assert.True(Native.Signal(first.Pid, Native.SIGKILL));

        var restarted = await h.RunningWithNewPidAsync("victim", first.Pid);
        Assert.Equal(1, restarted.Restarts);
        Assert.Equal(137, restarted.LastExitCode);
        Assert.Equal(9, restarted.LastExitSignal);
        Assert.False(first.IsAlive());
        Assert.Equal(started.SupervisorPid, restarted.SupervisorPid);
        var exited = Assert.Single(h.Manager.GetEvents("victim", type: "exited"));
        Assert.Equal("9", exited.Data!["signal"]);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_hung_trainer_is_restarted_and_a_silent_program_is_not_judged_hung()
    {
        await using var h = new SupervisorHarness();
        // The trainer beats a heartbeat whose progress stalls after 1 s; the other never beats one at all.
        var trainer = await h.StartAsync(SupervisorHarness.Dummy("trainer", ServiceKind.Training, "heartbeat", "--interval-ms", "100", "--stall-after-ms", "1000")
            with { HangTimeoutMs = 1500 });
        var silent = await h.StartAsync(SupervisorHarness.Dummy("silent", ServiceKind.Training, "sleep") with { HangTimeoutMs = 500 });
        var hungPid = ProcessIdentity.Of(trainer.Pid)!.Value;

        await h.WaitForEventAsync("trainer", "hang_detected");
        var restarted = await h.RunningWithNewPidAsync("trainer", hungPid.Pid);
        await SupervisorHarness.WaitGoneAsync(hungPid);
        Assert.True(restarted.Restarts >= 1);
        Assert.Contains("progress", h.Manager.GetEvents("trainer", type: "hang_detected")[0].Message);

        // The silent one has run for well over its hang timeout by now (the trainer needed > 2.5 s to be judged hung).
        var stillThere = h.Manager.GetStatus("silent");
        Assert.Equal(ServiceState.Running, stillThere.State);
        Assert.Equal(silent.Pid, stillThere.Pid);
        Assert.Empty(h.Manager.GetEvents("silent", type: "hang_detected"));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_crash_loop_opens_the_circuit_and_ends_supervision()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("looper", ServiceKind.Program, "crash", "--after-ms", "400", "--exit-code", "3")
            with { RestartPolicy = RestartPolicy.Always, BackoffInitialMs = 10, BackoffMaxMs = 20, CircuitMaxRestarts = 2, StartupGraceMs = 100 };
        var started = await h.StartAsync(spec);

        var fatal = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus("looper"), s => s?.State == ServiceState.Fatal, "the circuit to open");
        Assert.Contains("circuit is open", fatal.ErrorMessage);
        Assert.Equal(2, fatal.Restarts);
        Assert.Equal(3, fatal.LastExitCode);
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.SupervisorPid, fatal.Status!.SupervisorStartTicks));
        Assert.Single(h.Manager.GetEvents("looper", type: "fatal"));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_trainer_that_exits_78_goes_fatal_at_once_with_the_reason_an_event_and_an_alert()
    {
        await using var h = new SupervisorHarness();
        var alertFile = Path.Combine(h.State.Root, "alert.json");
        // A trainer under its default policy (on-failure): it runs, then finds its configuration wrong and exits 78.
        var spec = SupervisorHarness.Dummy("configured", ServiceKind.Training, "crash", "--after-ms", "600", "--exit-code", "78", "--message", "bad learning_rate") with
        {
            StartupGraceMs = 100,
            AlertCommand = ["/bin/sh", "-c", $"printf '%s' \"$STABILITY_EVENT\" > '{alertFile}.tmp' && mv '{alertFile}.tmp' '{alertFile}'"],
        };
        var started = await h.StartAsync(spec);
        Assert.Equal(ServiceState.Running, started.State);

        await h.WaitForEventAsync("configured", "fatal");
        var fatal = h.Manager.GetStatus("configured");
        Assert.Equal(ServiceState.Fatal, fatal.State);
        Assert.Equal(78, fatal.LastExitCode);
        Assert.Equal(0, fatal.Restarts);
        Assert.Contains("exited with code 78 (EX_CONFIG", fatal.ErrorMessage);
        Assert.Contains("no restart can fix", fatal.ErrorMessage);
        Assert.Single(h.Manager.GetEvents("configured", type: "exited"));
        Assert.Empty(h.Manager.GetEvents("configured", type: "restarting"));
        var fatalEvent = Assert.Single(h.Manager.GetEvents("configured", type: "fatal"));
        Assert.Equal("78", fatalEvent.Data!["exit_code"]);
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.SupervisorPid, fatal.Status!.SupervisorStartTicks));

        await SupervisorHarness.EventuallyAsync(() => File.Exists(alertFile), e => e, "the alert command's file");
        var alert = System.Text.Json.JsonDocument.Parse(File.ReadAllText(alertFile)).RootElement;
        Assert.Equal("fatal", alert.GetProperty("type").GetString());
        Assert.Contains("no restart can fix", alert.GetProperty("message").GetString());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_listed_no_restart_exit_code_is_fatal_at_once_even_under_restart_always()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("picky", ServiceKind.Program, "crash", "--after-ms", "600", "--exit-code", "3") with
        {
            RestartPolicy = RestartPolicy.Always, StartupGraceMs = 100, NoRestartExitCodes = [78, 3],
        };
        var started = await h.StartAsync(spec);

        await h.WaitForEventAsync("picky", "fatal");
        var fatal = h.Manager.GetStatus("picky");
        Assert.Equal((ServiceState.Fatal, 3, 0), (fatal.State, fatal.LastExitCode, fatal.Restarts));
        Assert.Contains("no_restart_exit_codes", fatal.ErrorMessage);
        Assert.Empty(h.Manager.GetEvents("picky", type: "restarting"));
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.SupervisorPid, fatal.Status!.SupervisorStartTicks));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_service_that_fails_at_start_raises_an_error_with_its_log_and_leaves_nothing_behind()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("broken", ServiceKind.Program, "crash", "--after-ms", "0", "--exit-code", "3", "--message", "cannot open model.bin")
            with { StartupGraceMs = 3000 };

        var ex = await Assert.ThrowsAsync<ServiceStartException>(() => h.StartAsync(spec));
        Assert.Equal("ServiceStartFailed", ex.ErrorId);
        Assert.Contains("cannot open model.bin", ex.Message);
        await SupervisorHarness.EventuallyAsync(() => h.ProcessesOfThisTest(), p => p is { Count: 0 }, "no process of the test left");
    }

    [Fact(Timeout = 300_000)]
    public async Task A_dashboard_that_exits_98_at_start_raises_a_port_conflict_and_leaves_no_supervisor()
    {
        await using var h = new SupervisorHarness();
        var port = FreePort();
        // As a real dashboard: running only once its health URL answers, which this one never does before exiting 98
        // (its port was free when checked, and taken by the time it bound).
        var spec = SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "crash", "--exit-code", "98", "--message", $"port {port} is in use")
            with { Port = port, HealthUrl = $"http://127.0.0.1:{port}/healthz" };

        var ex = await Assert.ThrowsAsync<ResourceConflictException>(() => h.StartAsync(spec));
        Assert.Equal($"port {port}", ex.Resource);
        Assert.Equal("ResourceConflict", ex.ErrorId);
        await SupervisorHarness.EventuallyAsync(() => h.ProcessesOfThisTest(), p => p is { Count: 0 }, "no process of the test left");
        Assert.Equal(ServiceState.Fatal, h.Manager.GetStatus("dashboard").State);
        Assert.Single(h.Manager.GetEvents("dashboard", type: "started"));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_dashboard_on_a_port_that_is_already_taken_is_refused_before_anything_is_launched()
    {
        await using var h = new SupervisorHarness();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        // The other process on the port would answer the health probe: only a check before the launch tells them apart.
        var spec = SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "sleep", "--bind", "127.0.0.1")
            with { Port = port, HealthUrl = $"http://127.0.0.1:{port}/healthz" };

        var ex = await Assert.ThrowsAsync<ResourceConflictException>(() => h.StartAsync(spec));
        Assert.Equal($"port {port}", ex.Resource);
        Assert.Empty(h.ProcessesOfThisTest());
        Assert.Empty(h.Manager.GetEvents("dashboard"));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_dashboard_that_stops_answering_its_health_probe_is_restarted()
    {
        await using var h = new SupervisorHarness();
        var port = FreePort();
        var spec = SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "http", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--healthy-for-ms", "1500")
            with { Port = port, HealthUrl = $"http://127.0.0.1:{port}/healthz", HealthIntervalMs = 200, HealthFailureThreshold = 2, StopTimeoutMs = 1000 };

        // Running only once the probe answered: the start waits for it.
        var started = await h.StartAsync(spec);
        Assert.Equal(ServiceState.Running, started.State);
        var wedged = ProcessIdentity.Of(started.Pid)!.Value;

        await h.WaitForEventAsync("dashboard", "hang_detected");
        var restarted = await h.RunningWithNewPidAsync("dashboard", wedged.Pid);
        await SupervisorHarness.WaitGoneAsync(wedged);
        Assert.Contains("503", h.Manager.GetEvents("dashboard", type: "hang_detected")[0].Message);
        Assert.True(restarted.Restarts >= 1);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_dashboard_that_takes_no_new_connection_is_seen_hung_though_an_old_connection_still_answers()
    {
        await using var h = new SupervisorHarness();
        var port = FreePort();
        // Healthy for the start, then every new connection waits unanswered while kept-alive ones still get 200:
        // only a probe on a fresh connection sees it (the old probe reused its pooled connection and saw nothing wrong).
        var spec = SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "http", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--saturate-after-ms", "2500")
            with { Port = port, HealthUrl = $"http://127.0.0.1:{port}/healthz", HealthIntervalMs = 200, HealthTimeoutMs = 500, HealthFailureThreshold = 2, StopTimeoutMs = 1000 };

        var started = await h.StartAsync(spec);
        var saturated = ProcessIdentity.Of(started.Pid)!.Value;

        await h.WaitForEventAsync("dashboard", "hang_detected");
        await h.RunningWithNewPidAsync("dashboard", saturated.Pid);
        await SupervisorHarness.WaitGoneAsync(saturated);
        Assert.Contains("healthz failed", h.Manager.GetEvents("dashboard", type: "hang_detected")[0].Message);
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact(Timeout = 300_000)]
    public async Task A_dashboard_runs_at_low_priority_with_every_GPU_hidden()
    {
        await using var h = new SupervisorHarness();
        await h.StartAsync(SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "print-env", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"));

        var lines = await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("dashboard", 10), l => l?.Contains("ready") == true, "the dashboard's output");
        Assert.Contains("CUDA_VISIBLE_DEVICES=", lines);
        Assert.Contains("NVIDIA_VISIBLE_DEVICES=none", lines);
        Assert.Contains("NICE=10", lines);
    }
}
