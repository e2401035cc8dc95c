using Microsoft.Extensions.Time.Testing;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Supervisor.Tests.Engine.Services;

public sealed class RestartTrackerTests
{
    private static readonly ServiceSpec Spec = ServiceSpec.ForKind(ServiceKind.Program, "svc", "/bin/true") with { RestartPolicy = RestartPolicy.Always };

    private static (RestartTracker Tracker, FakeTimeProvider Time) Create(ServiceSpec? spec = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return (new RestartTracker(spec ?? Spec, time), time);
    }

    [Fact(Timeout = 300_000)]
    public void The_first_restart_is_immediate_then_the_delay_doubles_up_to_the_cap()
    {
        var spec = Spec with { CircuitMaxRestarts = 100, BackoffInitialMs = 1000, BackoffMaxMs = 30_000 };
        var (tracker, time) = Create(spec);
        var delays = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            tracker.RecordStart();
            time.Advance(TimeSpan.FromMilliseconds(10));
            var decision = tracker.OnExit(1);
            Assert.Equal(RestartAction.Restart, decision.Action);
            delays.Add(decision.Delay.TotalMilliseconds);
            time.Advance(decision.Delay);
        }

        Assert.Equal([0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000], delays);
    }

    [Fact(Timeout = 300_000)]
    public void A_run_that_lasted_the_reset_time_makes_the_next_restart_immediate_again()
    {
        var (tracker, time) = Create(Spec with { CircuitMaxRestarts = 100 });
        tracker.RecordStart();
        Assert.Equal(TimeSpan.Zero, tracker.OnExit(1).Delay);
        tracker.RecordStart();
        Assert.Equal(TimeSpan.FromSeconds(1), tracker.OnExit(1).Delay);

        tracker.RecordStart();
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(TimeSpan.FromSeconds(2), tracker.OnExit(1).Delay);

        tracker.RecordStart();
        time.Advance(TimeSpan.FromSeconds(60));
        var decision = tracker.OnExit(1);
        Assert.Equal(TimeSpan.Zero, decision.Delay);
        Assert.Equal(1, tracker.Streak);
    }

    [Fact(Timeout = 300_000)]
    public void More_than_five_restarts_within_sixty_seconds_open_the_circuit()
    {
        var (tracker, time) = Create();
        for (var i = 0; i < 5; i++)
        {
            tracker.RecordStart();
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(RestartAction.Restart, tracker.OnExit(1).Action);
        }

        tracker.RecordStart();
        var sixth = tracker.OnExit(1);
        Assert.Equal(RestartAction.Fatal, sixth.Action);
        Assert.Contains("circuit is open", sixth.Reason);
        Assert.Equal(5, sixth.RestartsInWindow);
    }

    [Fact(Timeout = 300_000)]
    public void Restarts_older_than_the_window_no_longer_count()
    {
        var (tracker, time) = Create();
        for (var i = 0; i < 5; i++)
        {
            tracker.RecordStart();
            Assert.Equal(RestartAction.Restart, tracker.OnExit(1).Action);
        }

        time.Advance(TimeSpan.FromSeconds(60));
        tracker.RecordStart();
        var decision = tracker.OnExit(1);
        Assert.Equal(RestartAction.Restart, decision.Action);
        Assert.Equal(1, decision.RestartsInWindow);
    }

    [Fact(Timeout = 300_000)]
    public void A_reset_closes_an_open_circuit()
    {
        var (tracker, _) = Create(Spec with { CircuitMaxRestarts = 1 });
        tracker.RecordStart();
        Assert.Equal(RestartAction.Restart, tracker.OnExit(1).Action);
        Assert.Equal(RestartAction.Fatal, tracker.OnExit(1).Action);
        tracker.Reset();
        Assert.Equal(RestartAction.Restart, tracker.OnExit(1).Action);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(RestartPolicy.Always, 0, RestartAction.Restart)]
    [InlineData(RestartPolicy.Always, 3, RestartAction.Restart)]
    [InlineData(RestartPolicy.OnFailure, 0, RestartAction.Complete)]
    [InlineData(RestartPolicy.OnFailure, 3, RestartAction.Restart)]
    [InlineData(RestartPolicy.Never, 0, RestartAction.Complete)]
    [InlineData(RestartPolicy.Never, 3, RestartAction.Fatal)]
    public void The_restart_policy_decides_by_exit_code(RestartPolicy policy, int exitCode, RestartAction expected)
    {
        var (tracker, _) = Create(Spec with { RestartPolicy = policy });
        tracker.RecordStart();
        Assert.Equal(expected, tracker.OnExit(exitCode).Action);
    }

    [Fact(Timeout = 300_000)]
    public void A_signal_is_a_failure_even_under_on_failure()
    {
        var (tracker, _) = Create(Spec with { RestartPolicy = RestartPolicy.OnFailure });
        tracker.RecordStart();
        Assert.Equal(RestartAction.Restart, tracker.OnExit(137, signal: 9).Action);
    }

    [Fact(Timeout = 300_000)]
    public void A_dashboard_whose_port_is_taken_is_fatal_at_once()
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Dashboard, "dashboard", "/bin/true") with { Port = 8050 };
        var (tracker, _) = Create(spec);
        tracker.RecordStart();
        var decision = tracker.OnExit(ServiceSpec.PortInUseExitCode);
        Assert.Equal(RestartAction.Fatal, decision.Action);
        Assert.Contains("port 8050 is in use", decision.Reason);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(ServiceKind.Training, RestartPolicy.OnFailure)]
    [InlineData(ServiceKind.Dashboard, RestartPolicy.Always)]
    [InlineData(ServiceKind.Program, RestartPolicy.Always)]
    public void A_configuration_error_exit_78_is_fatal_at_once_by_default_whatever_the_policy(ServiceKind kind, RestartPolicy policy)
    {
        var (tracker, _) = Create(ServiceSpec.ForKind(kind, "svc", "/bin/true") with { RestartPolicy = policy });
        tracker.RecordStart();

        var decision = tracker.OnExit(78);

        Assert.Equal(RestartAction.Fatal, decision.Action);
        Assert.Contains("exited with code 78 (EX_CONFIG", decision.Reason);
        Assert.Contains("no restart can fix", decision.Reason);
        Assert.Equal(0, tracker.TotalRestarts);
    }

    [Fact(Timeout = 300_000)]
    public void A_listed_no_restart_exit_code_is_fatal_at_once_and_other_codes_still_restart()
    {
        var (tracker, _) = Create(Spec with { NoRestartExitCodes = [78, 3] });
        tracker.RecordStart();

        Assert.Equal(RestartAction.Restart, tracker.OnExit(4).Action);
        var decision = tracker.OnExit(3);

        Assert.Equal(RestartAction.Fatal, decision.Action);
        Assert.Contains("exited with code 3, which its spec lists as one no restart can fix (no_restart_exit_codes)", decision.Reason);
        Assert.Equal(1, tracker.TotalRestarts);
    }

    [Fact(Timeout = 300_000)]
    public void An_empty_no_restart_list_restarts_after_78_too()
    {
        var (tracker, _) = Create(Spec with { NoRestartExitCodes = [] });
        tracker.RecordStart();

        Assert.Equal(RestartAction.Restart, tracker.OnExit(78).Action);
    }

    [Fact(Timeout = 300_000)]
    public void A_death_by_a_signal_is_never_a_no_restart_exit()
    {
        // 78 as a "signal" number cannot happen, but 128 + 9 as a listed code must not match a SIGKILL either.
        var (tracker, _) = Create(Spec with { NoRestartExitCodes = [78, 9] });
        tracker.RecordStart();

        Assert.Equal(RestartAction.Restart, tracker.OnExit(137, signal: 9).Action);
    }

    [Fact(Timeout = 300_000)]
    public void Delays_follow_the_documented_defaults()
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Training, "training", "/bin/true");
        Assert.Equal(TimeSpan.Zero, RestartTracker.DelayFor(spec, 1));
        Assert.Equal(TimeSpan.FromSeconds(1), RestartTracker.DelayFor(spec, 2));
        Assert.Equal(TimeSpan.FromSeconds(30), RestartTracker.DelayFor(spec, 100));
        Assert.Equal(RestartPolicy.OnFailure, spec.RestartPolicy);
        Assert.Equal(RestartPolicy.Always, ServiceSpec.ForKind(ServiceKind.Dashboard, "d", "/bin/true").RestartPolicy);
        Assert.Equal(10_000, spec.StopTimeoutMs);
    }
}
