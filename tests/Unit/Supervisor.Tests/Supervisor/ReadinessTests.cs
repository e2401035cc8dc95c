using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>When a new service counts as running: at its first heartbeat when it says so, after the grace when it cannot; -NoWait returns once the supervisor runs.</summary>
public sealed class ReadinessTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_trainer_is_running_at_its_first_heartbeat_without_waiting_out_the_grace()
    {
        await using var h = new SupervisorHarness();
        // A grace of a minute: were it waited out, the start would take a minute.
        var spec = SupervisorHarness.Dummy("beating", ServiceKind.Training, "heartbeat", "--interval-ms", "100")
            with { ReadyOnHeartbeat = true, StartupGraceMs = 60_000 };

        var clock = Stopwatch.StartNew();
        var started = await h.StartAsync(spec);

        Assert.Equal(ServiceState.Running, started.State);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the start took {clock.Elapsed.TotalSeconds:0.0} s");
        // The heartbeat is read where the trainer writes it: the folder of the run the start made.
        var beat = new StatusStore().Read<TrainingStatus>(h.State.Run(started.RunId!).TrainingStatusPath).Document;
        Assert.Equal(started.Pid, beat?.Pid);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_service_that_should_beat_but_never_does_is_running_after_its_startup_timeout()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("mute", ServiceKind.Training, "sleep")
            with { ReadyOnHeartbeat = true, StartupGraceMs = 60_000, StartupTimeoutMs = 1500 };

        var clock = Stopwatch.StartNew();
        var started = await h.StartAsync(spec);

        Assert.Equal(ServiceState.Running, started.State);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1400), TimeSpan.FromSeconds(20));
    }

    [Fact(Timeout = 300_000)]
    public async Task Without_waiting_a_start_returns_once_the_supervisor_runs_and_the_service_gets_there_on_its_own()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("eager", ServiceKind.Program, "sleep") with { StartupGraceMs = 3000 };

        var started = await h.Manager.StartAsync(spec, wait: false, null, SupervisorHarness.Token);

        Assert.Equal(ServiceState.Starting, started.State);
        Assert.True(StabilityTools.Engine.Platform.ProcessIdentity.Of(started.SupervisorPid)?.IsAlive());
        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus("eager"), s => s?.State == ServiceState.Running, "'eager' running");
    }
}
