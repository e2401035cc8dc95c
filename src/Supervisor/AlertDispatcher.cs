// Overview: the loop calls OnEvent/OnRunning (single-threaded, like the policy it owns); each notice is delivered on a
// background task bounded by its rule's timeout, so a webhook that hangs or a command that never exits costs the loop
// nothing. The judged conditions (loss rising, throughput low, no progress, disk full) come from the tick as readings,
// which the loop reconciles here with what the policy has open (OnCondition); the tick asks for the rules through
// ConditionRules, a stat of alerts.json that re-reads it only when it changed. A delivery's outcome is recorded from that task through the supervisor's event writer (thread-safe: one
// locked append per record). DrainAsync waits, bounded, for deliveries still in flight when supervision ends.
using System.Diagnostics;
using System.Globalization;
using Serilog;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Sends the notices of the state directory's alert rules (<c>alerts.json</c>) for one service: it reads the rules when
/// an event calls for them, decides through <see cref="AlertPolicy"/> (rate limit, deduplication, restart rate,
/// resolved notices), keeps the policy's state in <c>services/&lt;name&gt;/alert_state.json</c>, and delivers through
/// <see cref="AlertSender"/>, recording every delivery (<c>alert_sent</c>) and failure (<c>alert_failed</c>) as an event.
/// </summary>
internal sealed class AlertDispatcher : IDisposable
{
    private static readonly TimeSpan ReportRefusalEvery = TimeSpan.FromMinutes(1);
    private readonly StateDirectory _state;
    private readonly string _service;
    private readonly StatusStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<string, EventSeverity, string, (string Key, string Value)[], StabilityEvent> _record;
    private readonly AlertPolicy _policy;
    private readonly AlertSender _sender;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Task> _pending = [];
    private readonly Dictionary<string, Task> _lastOfRule = new(StringComparer.Ordinal);
    private readonly object _rulesGate = new();
    private IReadOnlyList<AlertRule> _lastGood = [];
    private DateTimeOffset? _refusalReported;
    private (DateTime Written, long Length)? _rulesSeen;
    private IReadOnlyList<AlertRule> _conditionRules = [];

    // The wire names of the triggers the tick judges (the rest come as events).
    private static readonly string[] ConditionWireNames = ["\"loss_rising\"", "\"throughput_low\"", "\"no_progress\"", "\"disk_full\""];

    /// <param name="state">The state directory.</param>
    /// <param name="service">The service.</param>
    /// <param name="store">The store the supervisor writes with (owner-only, no-follow).</param>
    /// <param name="time">The clock of the rate limits.</param>
    /// <param name="log">The supervisor's log.</param>
    /// <param name="startChild">Starts an alert command and registers it as a child .NET reaps.</param>
    /// <param name="childEnded">Unregisters it once reaped.</param>
    /// <param name="record">Writes an event (type, severity, message, data) to events.jsonl; called from delivery tasks.</param>
    public AlertDispatcher(StateDirectory state, string service, StatusStore store, TimeProvider time, ILogger log,
        Action<Process> startChild, Action<int> childEnded, Func<string, EventSeverity, string, (string Key, string Value)[], StabilityEvent> record)
    {
        _state = state;
        _service = service;
        _store = store;
        _time = time;
        _log = log;
        _record = record;
        // The previous supervisor's state: a fatal service's next Start still sends the resolved notice, and the rate
        // limit holds across restarts of the supervisor.
        _policy = new AlertPolicy(service, time, new AlertBook(state, store).ReadAlertState(service));
        _sender = new AlertSender(startChild, childEnded);
    }

    /// <summary>The loop saw <paramref name="stabilityEvent"/>: sends the notices it calls for (none for an event that is no trigger).</summary>
    public void OnEvent(StabilityEvent stabilityEvent)
    {
        if (AlertPolicy.TriggerOf(stabilityEvent.Type) is null)
        {
            return;
        }

        var rules = Rules();
        // The policy sees every restart even without a rule: a rule set later judges the rate of the last hour.
        Deliver(rules, _policy.OnEvent(rules, stabilityEvent));
    }

    /// <summary>The service runs (again): the resolved notices of the conditions it had open.</summary>
    public void OnRunning()
    {
        if (!_policy.State.Tracks.Any(t => t.Open))
        {
            return;
        }

        var rules = Rules();
        Deliver(rules, _policy.OnRunning(rules));
    }

    /// <summary>
    /// From the tick: the rules, re-read only when alerts.json changed since the last look (its time and length), so a
    /// tick that asks costs a stat. Rules set after the supervisor started apply from its next heartbeat.
    /// </summary>
    public IReadOnlyList<AlertRule> ConditionRules()
    {
        (DateTime, long)? seen;
        try
        {
            var file = new FileInfo(AlertBook.PathIn(_state));
            seen = file.Exists ? (file.LastWriteTimeUtc, file.Length) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            seen = null;
        }

        lock (_rulesGate)
        {
            if (seen == _rulesSeen)
            {
                return _conditionRules;
            }

            _rulesSeen = seen;
        }

        // A document without a condition trigger in it (no rule, or rules only on events) is not parsed here: an idle
        // supervisor then never builds the rules' objects and their serializer metadata at all, as before conditions
        // existed (issue #24's idle goals); events still read it when they come.
        var rules = seen is null || !NamesACondition() ? [] : Rules();
        lock (_rulesGate)
        {
            _conditionRules = rules;
        }

        return rules;
    }

    /// <summary>True when alerts.json's text names a condition trigger (or cannot be looked at: then the full read says why).</summary>
    private bool NamesACondition()
    {
        try
        {
            using var stream = SafeFile.OpenRead(AlertBook.PathIn(_state));
            if (stream.Length > 1024 * 1024)
            {
                return true;
            }

            var text = new StreamReader(stream, System.Text.Encoding.UTF8).ReadToEnd();
            return ConditionWireNames.Any(name => text.Contains(name, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>
    /// The loop's half of a judged condition: a change the tick found is an event (<c>loss_rising</c>, and
    /// <c>loss_rising_cleared</c> when it clears; likewise the others) and the rule's notice, when it differs from what
    /// the policy has open; a first judgement that agrees with it (a new supervisor, a condition still clear) is nothing.
    /// </summary>
    public void OnCondition(ConditionReading reading)
    {
        var open = _policy.IsOpen(reading.Rule, reading.Trigger);
        if (reading.Holds == open)
        {
            return;
        }

        var rules = Rules();
        var rule = rules.FirstOrDefault(r => r.Name == reading.Rule);
        var type = AlertPolicy.StatusTrigger(reading.Trigger) + (reading.Holds ? "" : AlertPolicy.ClearedSuffix);
        var message = $"'{_service}': {reading.Message}.";
        var stabilityEvent = _record(type, reading.Holds ? EventSeverity.Warning : EventSeverity.Info, message, [.. reading.Data]);
        if (reading.Holds)
        {
            Deliver(rules, rule is null ? [] : _policy.OnConditionRaised(rule, stabilityEvent));
        }
        else
        {
            Deliver(rules, _policy.OnConditionCleared(rule, reading.Rule, reading.Trigger, stabilityEvent));
        }
    }

    /// <summary>Waits, at most <paramref name="bound"/>, for deliveries in flight (a supervisor that ends on a fatal event still delivers it).</summary>
    public async Task DrainAsync(TimeSpan bound)
    {
        Task[] pending;
        lock (_pending)
        {
            pending = [.. _pending];
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(bound, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Warning("{Count} alert deliveries were still in flight after {Bound}", pending.Count(t => !t.IsCompleted), bound);
        }
    }

    private void Deliver(IReadOnlyList<AlertRule> rules, IReadOnlyList<AlertNotice> notices)
    {
        Save();
        foreach (var notice in notices)
        {
            if (rules.FirstOrDefault(r => r.Name == notice.Rule) is not { } rule)
            {
                continue;
            }

            lock (_pending)
            {
                // One rule's notices go out in the order they were decided (a resolved notice never before its firing
                // one); different rules' in parallel, so a slow target holds up only its own.
                var previous = _lastOfRule.TryGetValue(rule.Name, out var last) && !last.IsCompleted ? last : Task.CompletedTask;
                var task = previous.ContinueWith(_ => SendAsync(rule, notice), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
                _lastOfRule[rule.Name] = task;
                _pending.RemoveAll(t => t.IsCompleted);
                _pending.Add(task);
            }
        }
    }

    private async Task SendAsync(AlertRule rule, AlertNotice notice)
    {
        AlertDeliveryResult result;
        try
        {
            result = await _sender.SendAsync(rule, notice, _closing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            result = new AlertDeliveryResult(rule.Name, AlertSender.DescribeTarget(rule), false, null, null, "The supervisor ended before the delivery finished.", TimeSpan.Zero);
        }

        var status = AlertPayload.StatusWord(notice.Kind);
        var trigger = AlertPolicy.StatusTrigger(notice.Trigger);
        var data = new List<(string Key, string Value)>
        {
            ("rule", rule.Name), ("trigger", trigger), ("status", status), ("target", result.Target),
            ("elapsed_ms", ((long)result.Elapsed.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)),
            ("suppressed", notice.Suppressed.ToString(CultureInfo.InvariantCulture)),
        };
        if (result.StatusCode is { } code)
        {
            data.Add(("status_code", code.ToString(CultureInfo.InvariantCulture)));
        }

        if (result.ExitCode is { } exit)
        {
            data.Add(("exit_code", exit.ToString(CultureInfo.InvariantCulture)));
        }

        if (result.Succeeded)
        {
            _record("alert_sent", EventSeverity.Info, $"Alert rule '{rule.Name}' sent its {status} notice ({trigger}) for '{_service}' to {result.Target}.", [.. data]);
        }
        else
        {
            data.Add(("error", result.Error ?? ""));
            _record("alert_failed", EventSeverity.Warning, $"Alert rule '{rule.Name}' could not send its {status} notice ({trigger}) for '{_service}' to {result.Target}: {result.Error}", [.. data]);
        }
    }

    /// <summary>
    /// The rules of alerts.json. An unreadable document, or one owned by someone else (its commands would run as this
    /// supervisor's user), is refused with an event and the rules read last are kept: never half-read, never trusted.
    /// </summary>
    private IReadOnlyList<AlertRule> Rules()
    {
        // The loop and the tick both read the rules: one at a time.
        lock (_rulesGate)
        {
            return ReadRules();
        }
    }

    private IReadOnlyList<AlertRule> ReadRules()
    {
        var path = AlertBook.PathIn(_state);
        var read = _store.Read<AlertRules>(path);
        string? refusal = null;
        switch (read.State)
        {
            case ReadState.Missing:
                return _lastGood = [];

            case ReadState.Ok or ReadState.Stale when read.OwnerUid is { } owner && !SafeFile.IsTrustedOwner(owner):
                refusal = $"alerts.json is owned by {SafeFile.UserName(owner)} (uid {owner}), not by the supervisor's user or root; its rules are ignored. Someone else can write '{_state.Root}': see docs/SECURITY.md.";
                break;

            case ReadState.Ok or ReadState.Stale:
                var valid = new List<AlertRule>();
                foreach (var rule in read.Document!.Rules)
                {
                    try
                    {
                        valid.Add(AlertBook.Validate(rule, path));
                    }
                    catch (ConfigurationException ex)
                    {
                        // A hand-edited rule that does not validate is skipped; the others still fire.
                        refusal = $"Alert rule '{rule.Name}' in alerts.json is invalid and is skipped: {ex.Message} Fix it with Set-StabilityAlert.";
                    }
                }

                _lastGood = valid;
                break;

            default:
                refusal = $"alerts.json cannot be read ({StatusJson.WireName(read.State)}: {read.Error}); the rules read last are used. Fix or remove the file, then set the rules again with Set-StabilityAlert.";
                break;
        }

        if (refusal is not null)
        {
            var now = _time.GetUtcNow();
            if (_refusalReported is not { } last || now - last >= ReportRefusalEvery)
            {
                _refusalReported = now;
                _record("alert_rules_refused", EventSeverity.Error, refusal, [("path", path)]);
            }
        }

        return _lastGood;
    }

    private void Save()
    {
        if (!_policy.Changed)
        {
            return;
        }

        try
        {
            _store.Write(AlertBook.StatePathIn(_state, _service), _policy.State);
            _policy.MarkSaved();
        }
        catch (StabilityException ex)
        {
            // The state only tunes notices across supervisors; a failed write never stops one.
            _log.Error(ex, "Could not write alert_state.json");
        }
    }

    public void Dispose()
    {
        _closing.Cancel();
        _sender.Dispose();
        _closing.Dispose();
    }
}
