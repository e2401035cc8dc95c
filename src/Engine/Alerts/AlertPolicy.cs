using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Alerts;

/// <summary>
/// Decides, for one service, which events become notices: the rules that cover the service and the trigger, the
/// restart-rate threshold, the rate limit (one notice per rule, service and trigger per <see cref="AlertRule.MinIntervalMs"/>;
/// the rest are counted and the count goes with the next), and the <c>resolved</c> notice when an open condition clears.
/// Pure but for its clock; not thread-safe (the supervisor's loop owns it). Its <see cref="State"/> is what the
/// supervisor persists, so that a fatal service's next supervisor still sends the resolved notice. The judged conditions
/// (<see cref="IsCondition"/>: loss rising, throughput low, no progress, disk full) open and clear per rule through
/// <see cref="OnConditionRaised"/> and <see cref="OnConditionCleared"/>, never through <see cref="OnRunning"/>.
/// </summary>
public sealed class AlertPolicy
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly string _service;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Rule, AlertTrigger Trigger), AlertTrack> _tracks = [];
    private readonly Queue<DateTimeOffset> _restarts = new();

    /// <summary>A policy for <paramref name="service"/> that goes on from <paramref name="state"/> (a previous supervisor's).</summary>
    public AlertPolicy(string service, TimeProvider? time = null, AlertState? state = null)
    {
        _service = service;
        _time = time ?? TimeProvider.System;
        foreach (var track in state?.Tracks ?? [])
        {
            _tracks[(track.Rule, track.Trigger)] = track;
        }
    }

    /// <summary>The state to persist (changed when <see cref="Changed"/>).</summary>
    public AlertState State => new() { Tracks = [.. _tracks.Values.OrderBy(t => t.Rule, StringComparer.Ordinal).ThenBy(t => t.Trigger)] };

    /// <summary>True when <see cref="State"/> changed since the last <see cref="MarkSaved"/>.</summary>
    public bool Changed { get; private set; }

    /// <summary>Restarts seen in the last hour (by this policy: this supervisor's).</summary>
    public int RestartsLastHour
    {
        get
        {
            Trim(_time.GetUtcNow());
            return _restarts.Count;
        }
    }

    /// <summary>Call after persisting <see cref="State"/>.</summary>
    public void MarkSaved() => Changed = false;

    /// <summary>The trigger an event type stands for, or null: <c>fatal</c>, <c>hang_detected</c>, <c>limit_exceeded</c>, <c>restarting</c>, <c>supervisor_replaced</c>, <c>loss_not_finite</c>.</summary>
    public static AlertTrigger? TriggerOf(string eventType) => eventType switch
    {
        "fatal" => AlertTrigger.Fatal,
        "hang_detected" => AlertTrigger.HangDetected,
        "limit_exceeded" => AlertTrigger.LimitExceeded,
        "restarting" => AlertTrigger.Restart,
        "supervisor_replaced" => AlertTrigger.SupervisorReplaced,
        "loss_not_finite" => AlertTrigger.LossNotFinite,
        _ => null,
    };

    /// <summary>True for the triggers the supervisor judges as conditions of the run, per rule (each rule has its own threshold).</summary>
    public static bool IsCondition(AlertTrigger trigger) =>
        trigger is AlertTrigger.LossRising or AlertTrigger.ThroughputLow or AlertTrigger.NoProgress or AlertTrigger.DiskFull;

    /// <summary>True while the condition of <paramref name="rule"/> and <paramref name="trigger"/> is open (fired, or opened inside the interval, and not cleared).</summary>
    public bool IsOpen(string rule, AlertTrigger trigger) => _tracks.TryGetValue((rule, trigger), out var track) && track.Open;

    /// <summary>
    /// A judged condition of <paramref name="rule"/> started to hold: its firing notice, once. Inside the rule's interval
    /// since its last notice the condition opens without one (counted; the count goes with the next), and its clearing
    /// then sends no resolved notice either: a condition that flaps is one notice per interval, not two.
    /// </summary>
    public IReadOnlyList<AlertNotice> OnConditionRaised(AlertRule rule, StabilityEvent stabilityEvent)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(stabilityEvent);
        if (TriggerOfCondition(stabilityEvent.Type) is not { } trigger || !rule.Covers(_service) || !rule.On.Contains(trigger) || IsOpen(rule.Name, trigger))
        {
            return [];
        }

        var now = _time.GetUtcNow();
        var key = (rule.Name, trigger);
        _tracks.TryGetValue(key, out var track);
        track ??= new AlertTrack { Rule = rule.Name, Trigger = trigger };
        Changed = true;
        if (track.LastSent is { } last && now - last < TimeSpan.FromMilliseconds(rule.MinIntervalMs))
        {
            _tracks[key] = track with { Suppressed = track.Suppressed + 1, Open = true, OpenedAt = now };
            return [];
        }

        _tracks[key] = track with { LastSent = now, Suppressed = 0, Open = true, OpenedAt = now };
        return [new AlertNotice(rule.Name, _service, trigger, AlertNoticeKind.Firing, FiringText(rule, trigger, stabilityEvent, track.Suppressed), now, track.Suppressed, stabilityEvent)];
    }

    /// <summary>
    /// The condition of the rule named <paramref name="ruleName"/> and <paramref name="trigger"/> cleared: its resolved
    /// notice, once, when its firing notice went out and the rule (<paramref name="rule"/>, null when it is gone) wants one.
    /// </summary>
    public IReadOnlyList<AlertNotice> OnConditionCleared(AlertRule? rule, string ruleName, AlertTrigger trigger, StabilityEvent stabilityEvent)
    {
        ArgumentNullException.ThrowIfNull(stabilityEvent);
        if (!_tracks.TryGetValue((ruleName, trigger), out var track) || !track.Open)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        Changed = true;
        _tracks[(ruleName, trigger)] = track with { Open = false };
        var notified = track.LastSent is { } sent && (track.OpenedAt is not { } opened || sent >= opened);
        if (rule is not { SendResolved: true } || !notified)
        {
            return [];
        }

        var since = track.OpenedAt is { } at ? $" after {Describe(now - at)}" : "";
        return [new AlertNotice(ruleName, _service, trigger, AlertNoticeKind.Resolved,
            $"[StabilityTools] resolved: {stabilityEvent.Message.TrimEnd('.')} ({StatusTrigger(trigger)} cleared{since}; rule '{ruleName}').", now, 0, stabilityEvent)];
    }

    /// <summary>The condition trigger an event type stands for (<c>loss_rising</c>, <c>throughput_low</c>, <c>no_progress</c>, <c>disk_full</c>, each also with <c>_cleared</c>), or null.</summary>
    public static AlertTrigger? TriggerOfCondition(string eventType)
    {
        var type = eventType.EndsWith(ClearedSuffix, StringComparison.Ordinal) ? eventType[..^ClearedSuffix.Length] : eventType;
        return type switch
        {
            "loss_rising" => AlertTrigger.LossRising,
            "throughput_low" => AlertTrigger.ThroughputLow,
            "no_progress" => AlertTrigger.NoProgress,
            "disk_full" => AlertTrigger.DiskFull,
            _ => null,
        };
    }

    /// <summary>What a condition's event type ends with when it clears (<c>loss_rising_cleared</c>).</summary>
    public const string ClearedSuffix = "_cleared";

    /// <summary>The notices <paramref name="stabilityEvent"/> calls for under <paramref name="rules"/> (none for an event that is no trigger).</summary>
    public IReadOnlyList<AlertNotice> OnEvent(IReadOnlyList<AlertRule> rules, StabilityEvent stabilityEvent)
    {
        ArgumentNullException.ThrowIfNull(stabilityEvent);
        if (TriggerOf(stabilityEvent.Type) is not { } trigger)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        if (trigger == AlertTrigger.Restart)
        {
            _restarts.Enqueue(now);
            Trim(now);
        }

        var notices = new List<AlertNotice>();
        foreach (var rule in rules.Where(r => r.Covers(_service) && r.On.Contains(trigger)))
        {
            if (trigger == AlertTrigger.Restart && _restarts.Count <= rule.RestartsPerHour)
            {
                continue;
            }

            var key = (rule.Name, trigger);
            _tracks.TryGetValue(key, out var track);
            track ??= new AlertTrack { Rule = rule.Name, Trigger = trigger };
            Changed = true;
            if (track.LastSent is { } last && now - last < TimeSpan.FromMilliseconds(rule.MinIntervalMs))
            {
                // The same condition inside the interval: counted, not re-sent. It does not reopen a condition whose
                // resolved notice went out: a restart storm that runs between its crashes would otherwise send a
                // resolved notice per restart. The count goes with the next firing notice.
                _tracks[key] = track with { Suppressed = track.Suppressed + 1 };
                continue;
            }

            notices.Add(new AlertNotice(rule.Name, _service, trigger, AlertNoticeKind.Firing, FiringText(rule, trigger, stabilityEvent, track.Suppressed), now, track.Suppressed, stabilityEvent));
            _tracks[key] = track with { LastSent = now, Suppressed = 0, Open = true, OpenedAt = track.Open ? track.OpenedAt ?? now : now };
        }

        return notices;
    }

    /// <summary>
    /// The service runs (again): one <c>resolved</c> notice per open condition of a rule that still exists and wants one
    /// (a restart-rate condition only once the rate is back at or under its threshold). Resolved notices are not rate-limited:
    /// there is at most one per notice that opened the condition.
    /// </summary>
    public IReadOnlyList<AlertNotice> OnRunning(IReadOnlyList<AlertRule> rules)
    {
        var now = _time.GetUtcNow();
        Trim(now);
        var notices = new List<AlertNotice>();
        foreach (var (key, track) in _tracks.Where(t => t.Value.Open).ToList())
        {
            var rule = rules.FirstOrDefault(r => r.Name == key.Rule && r.Covers(_service) && r.On.Contains(key.Trigger));
            if (rule is not null && IsCondition(key.Trigger))
            {
                // A judged condition clears when it no longer holds (OnConditionCleared), not because the service runs.
                continue;
            }

            if (rule is not null && key.Trigger == AlertTrigger.Restart && _restarts.Count > rule.RestartsPerHour)
            {
                continue;
            }

            Changed = true;
            _tracks[key] = track with { Open = false, Suppressed = 0 };
            if (rule is { SendResolved: true })
            {
                var since = track.OpenedAt is { } opened ? $" after {Describe(now - opened)}" : "";
                notices.Add(new AlertNotice(rule.Name, _service, key.Trigger, AlertNoticeKind.Resolved,
                    $"[StabilityTools] resolved: '{_service}' is running again{since} ({StatusTrigger(key.Trigger)} cleared; rule '{rule.Name}').", now, track.Suppressed));
            }
        }

        return notices;
    }

    /// <summary>A test notice of <paramref name="rule"/>, sent by <c>Test-StabilityAlert</c>.</summary>
    public static AlertNotice TestNotice(AlertRule rule, TimeProvider? time = null) =>
        new(rule.Name, rule.Scope, rule.On.Count > 0 ? rule.On[0] : AlertTrigger.Fatal, AlertNoticeKind.Test,
            $"[StabilityTools] test notice of alert rule '{rule.Name}' (services: {rule.Scope}; on: {string.Join(", ", rule.On.Select(StatusTrigger))}) from {Environment.MachineName}.",
            (time ?? TimeProvider.System).GetUtcNow());

    /// <summary>The wire name of a trigger.</summary>
    public static string StatusTrigger(AlertTrigger trigger) => Status.StatusJson.WireName(trigger);

    private string FiringText(AlertRule rule, AlertTrigger trigger, StabilityEvent stabilityEvent, int suppressed)
    {
        var rate = trigger == AlertTrigger.Restart ? $" ({_restarts.Count} restarts in the last hour; threshold {rule.RestartsPerHour})" : "";
        var more = suppressed > 0 ? $"; {suppressed} more since the last notice" : "";
        return $"[StabilityTools] {StatusTrigger(trigger)}: {stabilityEvent.Message}{rate} (rule '{rule.Name}'{more}).";
    }

    private void Trim(DateTimeOffset now)
    {
        while (_restarts.TryPeek(out var first) && now - first > Hour)
        {
            _restarts.Dequeue();
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{span.TotalHours:0.#} h" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";
}
