using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Issue #17: a trainer program that reports nothing still gets its run's end recorded, by its supervisor.</summary>
public sealed class RunEndingTests
{
    private static async Task<(ServiceInfo Final, TrainingRun Run)> RunToEndAsync(SupervisorHarness h, ServiceSpec spec, Func<ServiceInfo, Task>? whileRunning = null)
    {
        var started = await h.StartAsync(spec);
        Assert.NotNull(started.RunId);
        if (whileRunning is not null)
        {
            await whileRunning(started);
        }

        var final = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus(spec.Name), s => s is not null && Liveness.IsFinal(s.State), "the service to end");
        // The run's end is recorded before the final state is published, so run.json says it once the service ended.
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.SupervisorPid, final.Status!.SupervisorStartTicks));
        return (final, new StatusStore().Read<TrainingRun>(h.State.Run(started.RunId).RunInfoPath).Document!);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_silent_trainer_that_exits_0_leaves_its_run_completed_with_start_and_end()
    {
        await using var h = new SupervisorHarness();
        var (final, run) = await RunToEndAsync(h, SupervisorHarness.Dummy("quiet", ServiceKind.Training, "crash", "--after-ms", "300", "--exit-code", "0"));

        Assert.Equal(ServiceState.Completed, final.State);
        Assert.Equal(RunStates.Completed, run.State);
        Assert.NotNull(run.Started);
        Assert.True(run.Ended >= run.Started, $"ended {run.Ended:O} before it started {run.Started:O}");
        Assert.Equal(1, run.Attempts);
        Assert.Null(run.ErrorMessage);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_silent_trainer_that_goes_fatal_leaves_its_run_failed_with_the_reason()
    {
        await using var h = new SupervisorHarness();
        var (final, run) = await RunToEndAsync(h, SupervisorHarness.Dummy("broken", ServiceKind.Training, "crash", "--after-ms", "300", "--exit-code", "78") with { StartupGraceMs = 100 });

        Assert.Equal(ServiceState.Fatal, final.State);
        Assert.Equal(RunStates.Failed, run.State);
        Assert.Contains("exited with code 78", run.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_silent_trainer_that_is_stopped_leaves_its_run_stopped()
    {
        await using var h = new SupervisorHarness();
        var (final, run) = await RunToEndAsync(h, SupervisorHarness.Dummy("sleeper", ServiceKind.Training, "sleep"),
            started => h.Manager.StopAsync(started.Name, cancellationToken: SupervisorHarness.Token));

        Assert.Equal(ServiceState.Stopped, final.State);
        Assert.Equal(RunStates.Stopped, run.State);
        Assert.NotNull(run.Ended);
    }
}
