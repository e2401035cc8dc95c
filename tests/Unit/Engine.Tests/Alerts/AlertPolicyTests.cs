using Microsoft.Extensions.Time.Testing;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Tests.Alerts;

public sealed class AlertPolicyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));

    private static AlertRule Rule(params AlertTrigger[] on) => new() { Name = "pager", On = on, WebhookUrl = "http://127.0.0.1:9/", MinIntervalMs = 60_000 };

    private static StabilityEvent Ev(string type, string service = "training") => new() { Type = type, Service = service, Message = $"'{service}' {type}" };

    [Fact(Timeout = 120_000)]
    public void A_fatal_event_fires_one_notice_per_covering_rule()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal), Rule(AlertTrigger.Fatal) with { Name = "other", Scope = "dashboard" }, Rule(AlertTrigger.HangDetected) with { Name = "hangs" }];

        var notice = Assert.Single(policy.OnEvent(rules, Ev("fatal")));

        Assert.Equal(("pager", "training", AlertTrigger.Fatal, AlertNoticeKind.Firing), (notice.Rule, notice.Service, notice.Trigger, notice.Kind));
        Assert.Equal("fatal", notice.Event!.Type);
        Assert.Empty(policy.OnEvent(rules, Ev("exited")));
    }

    [Fact(Timeout = 120_000)]
    public void Inside_the_interval_the_same_condition_is_counted_not_resent_and_the_count_goes_with_the_next()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.HangDetected)];

        Assert.Single(policy.OnEvent(rules, Ev("hang_detected")));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(policy.OnEvent(rules, Ev("hang_detected")));
        Assert.Empty(policy.OnEvent(rules, Ev("hang_detected")));
        Assert.Equal(2, Assert.Single(policy.State.Tracks).Suppressed);

        _time.Advance(TimeSpan.FromSeconds(51));
        var next = Assert.Single(policy.OnEvent(rules, Ev("hang_detected")));
        Assert.Equal(2, next.Suppressed);
        Assert.Contains("2 more since the last notice", next.Text);
        Assert.Equal(0, Assert.Single(policy.State.Tracks).Suppressed);
    }

    [Fact(Timeout = 120_000)]
    public void The_rate_limit_is_per_rule_service_and_trigger()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal, AlertTrigger.LimitExceeded), Rule(AlertTrigger.Fatal) with { Name = "second" }];

        Assert.Equal(2, policy.OnEvent(rules, Ev("fatal")).Count);
        Assert.Single(policy.OnEvent(rules, Ev("limit_exceeded")));
        Assert.Empty(policy.OnEvent(rules, Ev("fatal")));
    }

    [Fact(Timeout = 120_000)]
    public void A_restart_storm_fires_only_above_the_threshold_and_then_at_most_once_per_interval()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Restart) with { RestartsPerHour = 3 }];
        var sent = 0;
        for (var i = 0; i < 50; i++)
        {
            sent += policy.OnEvent(rules, Ev("restarting")).Count;
            if (i == 2)
            {
                Assert.Equal(0, sent);
            }

            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // 50 restarts in 50 s, threshold passed at the 4th: one notice in the first minute.
        Assert.Equal(1, sent);
        Assert.Equal(50, policy.RestartsLastHour);
        _time.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(0, policy.RestartsLastHour);
    }

    [Fact(Timeout = 120_000)]
    public void A_cleared_condition_sends_one_resolved_notice()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal, AlertTrigger.HangDetected)];

        Assert.Empty(policy.OnRunning(rules));
        policy.OnEvent(rules, Ev("fatal"));
        _time.Advance(TimeSpan.FromMinutes(2));
        var resolved = Assert.Single(policy.OnRunning(rules));

        Assert.Equal((AlertNoticeKind.Resolved, AlertTrigger.Fatal), (resolved.Kind, resolved.Trigger));
        Assert.Contains("after 2 min", resolved.Text);
        Assert.Empty(policy.OnRunning(rules));
    }

    [Fact(Timeout = 120_000)]
    public void A_storm_that_runs_between_its_restarts_sends_one_notice_per_interval_and_no_resolved_notice_per_run()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Restart)];
        var notices = new List<AlertNotice>();

        for (var i = 0; i < 50; i++)
        {
            notices.AddRange(policy.OnEvent(rules, Ev("restarting")));
            _time.Advance(TimeSpan.FromMilliseconds(200));
            notices.AddRange(policy.OnRunning(rules));
        }

        // The rate (50 in the hour) stays above the threshold (0), so the condition stays open: no resolved notice either.
        Assert.Equal([AlertNoticeKind.Firing], notices.Select(n => n.Kind));
        _time.Advance(TimeSpan.FromMinutes(1));
        var next = Assert.Single(policy.OnEvent(rules, Ev("restarting")));
        Assert.Equal(49, next.Suppressed);
    }

    [Fact(Timeout = 120_000)]
    public void A_condition_that_recurs_inside_the_interval_after_its_resolved_notice_is_counted_and_not_resolved_again()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal)];
        Assert.Single(policy.OnEvent(rules, Ev("fatal")));
        Assert.Single(policy.OnRunning(rules));

        Assert.Empty(policy.OnEvent(rules, Ev("fatal")));
        Assert.Empty(policy.OnRunning(rules));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, Assert.Single(policy.OnEvent(rules, Ev("fatal"))).Suppressed);
    }

    [Fact(Timeout = 120_000)]
    public void A_restart_rate_condition_resolves_only_once_the_rate_is_back_under_its_threshold()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Restart) with { RestartsPerHour = 1 }];
        policy.OnEvent(rules, Ev("restarting"));
        Assert.Single(policy.OnEvent(rules, Ev("restarting")));

        Assert.Empty(policy.OnRunning(rules));
        _time.Advance(TimeSpan.FromMinutes(61));
        Assert.Single(policy.OnRunning(rules));
    }

    [Fact(Timeout = 120_000)]
    public void The_state_carries_an_open_condition_and_the_rate_limit_to_the_next_supervisor()
    {
        var first = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal)];
        first.OnEvent(rules, Ev("fatal"));
        Assert.True(first.Changed);

        var next = new AlertPolicy("training", _time, first.State);
        Assert.Empty(next.OnEvent(rules, Ev("fatal")));
        Assert.Single(next.OnRunning(rules));
    }

    [Fact(Timeout = 120_000)]
    public void A_removed_rule_or_one_that_wants_no_resolved_notice_clears_silently()
    {
        var policy = new AlertPolicy("training", _time);
        policy.OnEvent([Rule(AlertTrigger.Fatal), Rule(AlertTrigger.Fatal) with { Name = "quiet", SendResolved = false }], Ev("fatal"));

        Assert.Empty(policy.OnRunning([Rule(AlertTrigger.Fatal) with { Name = "quiet", SendResolved = false }]));
        Assert.DoesNotContain(policy.State.Tracks, t => t.Open);
    }

    [Fact(Timeout = 120_000)]
    public void A_zero_interval_sends_every_notice()
    {
        var policy = new AlertPolicy("training", _time);
        AlertRule[] rules = [Rule(AlertTrigger.Fatal) with { MinIntervalMs = 0 }];

        Assert.Single(policy.OnEvent(rules, Ev("fatal")));
        Assert.Single(policy.OnEvent(rules, Ev("fatal")));
    }

    public static TheoryData<AlertTrigger, string> Conditions() => new()
    {
        { AlertTrigger.LossRising, "loss_rising" },
        { AlertTrigger.ThroughputLow, "throughput_low" },
        { AlertTrigger.NoProgress, "no_progress" },
        { AlertTrigger.DiskFull, "disk_full" },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Conditions))]
    public void A_judged_condition_fires_once_while_it_holds_and_resolves_once_when_it_clears(AlertTrigger trigger, string type)
    {
        var policy = new AlertPolicy("training", _time);
        var rule = Rule(trigger);

        var firing = Assert.Single(policy.OnConditionRaised(rule, Ev(type)));
        Assert.Equal((AlertNoticeKind.Firing, trigger), (firing.Kind, firing.Trigger));
        Assert.True(policy.IsOpen("pager", trigger));
        Assert.Empty(policy.OnConditionRaised(rule, Ev(type)));
        Assert.Empty(policy.OnRunning([rule]));

        _time.Advance(TimeSpan.FromSeconds(30));
        var resolved = Assert.Single(policy.OnConditionCleared(rule, rule.Name, trigger, Ev(type + "_cleared")));
        Assert.Equal((AlertNoticeKind.Resolved, trigger), (resolved.Kind, resolved.Trigger));
        Assert.Equal($"[StabilityTools] resolved: 'training' {type}_cleared ({type} cleared after 30 s; rule 'pager').", resolved.Text);
        Assert.False(policy.IsOpen("pager", trigger));
        Assert.Empty(policy.OnConditionCleared(rule, rule.Name, trigger, Ev(type + "_cleared")));
    }

    [Fact(Timeout = 120_000)]
    public void A_condition_that_flaps_inside_the_interval_opens_silently_and_clears_without_a_resolved_notice()
    {
        var policy = new AlertPolicy("training", _time);
        var rule = Rule(AlertTrigger.ThroughputLow);
        Assert.Single(policy.OnConditionRaised(rule, Ev("throughput_low")));
        Assert.Single(policy.OnConditionCleared(rule, rule.Name, AlertTrigger.ThroughputLow, Ev("throughput_low_cleared")));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(policy.OnConditionRaised(rule, Ev("throughput_low")));
        Assert.True(policy.IsOpen(rule.Name, AlertTrigger.ThroughputLow));
        Assert.Empty(policy.OnConditionCleared(rule, rule.Name, AlertTrigger.ThroughputLow, Ev("throughput_low_cleared")));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, Assert.Single(policy.OnConditionRaised(rule, Ev("throughput_low"))).Suppressed);
    }

    [Fact(Timeout = 120_000)]
    public void A_condition_is_raised_only_for_its_own_rule_and_a_rule_without_resolved_notices_clears_silently()
    {
        var policy = new AlertPolicy("training", _time);
        var quiet = Rule(AlertTrigger.NoProgress) with { Name = "quiet", SendResolved = false };

        Assert.Empty(policy.OnConditionRaised(Rule(AlertTrigger.Fatal), Ev("no_progress")));
        Assert.Empty(policy.OnConditionRaised(quiet with { Scope = "dashboard" }, Ev("no_progress")));
        Assert.Single(policy.OnConditionRaised(quiet, Ev("no_progress")));
        Assert.False(policy.IsOpen("pager", AlertTrigger.NoProgress));
        Assert.Empty(policy.OnConditionCleared(quiet, quiet.Name, AlertTrigger.NoProgress, Ev("no_progress_cleared")));
        Assert.False(policy.IsOpen("quiet", AlertTrigger.NoProgress));
    }

    [Fact(Timeout = 120_000)]
    public void A_supervisor_replaced_event_fires_its_rule()
    {
        var policy = new AlertPolicy("training", _time);

        var notice = Assert.Single(policy.OnEvent([Rule(AlertTrigger.SupervisorReplaced)], Ev("supervisor_replaced")));

        Assert.Equal(AlertTrigger.SupervisorReplaced, notice.Trigger);
        Assert.StartsWith("[StabilityTools] supervisor_replaced:", notice.Text);
    }
}
