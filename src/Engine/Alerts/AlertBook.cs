using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Alerts;

/// <summary>
/// The alert rules of a state directory, kept in <c>alerts.json</c> (schema <c>alert_rules/1</c>) beside nothing a
/// <c>Start-*</c> rewrites, so rules outlive every restart and new start. Changes are locked read-modify-writes
/// through <see cref="StatusStore"/>; a file that cannot be read is refused, never replaced.
/// </summary>
public sealed class AlertBook
{
    /// <summary>The document's file name in the state directory's root.</summary>
    public const string FileName = "alerts.json";

    /// <summary>The file name of a service's alert state, in its service directory.</summary>
    public const string StateFileName = "alert_state.json";

    private readonly StatusStore _store;

    /// <summary>The rules of <paramref name="state"/>.</summary>
    public AlertBook(StateDirectory state, StatusStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        State = state;
        _store = store ?? new StatusStore();
    }

    /// <summary>The state directory.</summary>
    public StateDirectory State { get; }

    /// <summary>The path of <c>alerts.json</c>.</summary>
    public string Path => PathIn(State);

    /// <summary>The path of <c>alerts.json</c> in <paramref name="state"/>.</summary>
    public static string PathIn(StateDirectory state) => System.IO.Path.Combine(state.Root, FileName);

    /// <summary>The path of a service's <c>alert_state.json</c>.</summary>
    public static string StatePathIn(StateDirectory state, string service) => System.IO.Path.Combine(state.ServiceDirectory(service), StateFileName);

    /// <summary>Adds <paramref name="rule"/>, or replaces the rule of the same name. Returns it as stored.</summary>
    /// <exception cref="ConfigurationException">The rule is invalid; every problem is named, nothing is written.</exception>
    /// <exception cref="CorruptDocumentException">alerts.json exists but cannot be read; it is left as it is.</exception>
    public AlertRule Set(AlertRule rule)
    {
        Validate(rule, Path);
        _store.Update<AlertRules>(Path, current =>
        {
            var rules = (current?.Rules ?? []).ToList();
            var at = rules.FindIndex(r => r.Name == rule.Name);
            if (at >= 0)
            {
                rules[at] = rule;
            }
            else
            {
                rules.Add(rule);
            }

            return (current ?? new AlertRules()) with { Rules = rules };
        });
        return rule;
    }

    /// <summary>The rules, or the one named (none when it does not exist). A missing alerts.json has none.</summary>
    /// <exception cref="CorruptDocumentException">alerts.json exists but cannot be read.</exception>
    public IReadOnlyList<AlertRule> Get(string? name = null) =>
        Read().Where(r => name is null || r.Name == name).ToList();

    /// <summary>Removes the named rule. Returns false when there was none.</summary>
    /// <exception cref="CorruptDocumentException">alerts.json exists but cannot be read; it is left as it is.</exception>
    public bool Remove(string name)
    {
        if (Get(name).Count == 0)
        {
            return false;
        }

        var removed = false;
        _store.Update<AlertRules>(Path, current =>
        {
            var rules = (current?.Rules ?? []).ToList();
            removed = rules.RemoveAll(r => r.Name == name) > 0;
            return (current ?? new AlertRules()) with { Rules = rules };
        });
        return removed;
    }

    /// <summary>Every rule; none when alerts.json is missing.</summary>
    /// <exception cref="CorruptDocumentException">alerts.json exists but cannot be read.</exception>
    public IReadOnlyList<AlertRule> Read()
    {
        var read = _store.Read<AlertRules>(Path);
        return read.State switch
        {
            ReadState.Missing => [],
            ReadState.Ok or ReadState.Stale => read.Document!.Rules,
            _ => throw new CorruptDocumentException(Path, read.State, read.Error ?? "it could not be read"),
        };
    }

    /// <summary>Checks a rule, reporting every problem together, each naming its key.</summary>
    /// <exception cref="ConfigurationException">The rule is invalid.</exception>
    public static AlertRule Validate(AlertRule rule, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var problems = new List<ConfigurationProblem>();
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(file, null, key, message));

        if (!ServiceName.IsValid(rule.Name))
        {
            Problem("name", $"'{rule.Name}' is not a rule name: use 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (like a service name).");
        }

        if (rule.Scope != AlertRule.AllServices && !ServiceName.IsValid(rule.Scope))
        {
            Problem("scope", $"'{rule.Scope}' is neither a service name nor '*' (every service).");
        }

        if (rule.On is null || rule.On.Count == 0)
        {
            Problem("on", "Name at least one trigger: fatal, hang_detected, limit_exceeded, restart, loss_not_finite, supervisor_replaced, loss_rising, throughput_low, no_progress or disk_full.");
        }
        else if (rule.On.FirstOrDefault(t => !Enum.IsDefined(t)) is var bad && !Enum.IsDefined(bad))
        {
            Problem("on", $"'{bad}' is not a trigger: use fatal, hang_detected, limit_exceeded, restart, loss_not_finite, supervisor_replaced, loss_rising, throughput_low, no_progress or disk_full.");
        }

        if (rule.RestartsPerHour is < 0 or > 100_000)
        {
            Problem("restarts_per_hour", $"{rule.RestartsPerHour} is out of range: use 0-100000 (0 fires on every restart).");
        }
        else if (rule.RestartsPerHour > 0 && rule.On?.Contains(AlertTrigger.Restart) != true)
        {
            Problem("restarts_per_hour", "It applies to the 'restart' trigger only: add restart to the triggers, or leave it out.");
        }

        // Each condition's key goes with its trigger only: a threshold that no trigger reads is a mistake worth naming.
        void Threshold(IFormattable? value, bool inRange, string key, AlertTrigger trigger, string range)
        {
            if (value is null)
            {
                return;
            }

            if (!inRange)
            {
                Problem(key, $"{value.ToString(null, System.Globalization.CultureInfo.InvariantCulture)} is out of range: use {range}.");
            }
            else if (rule.On?.Contains(trigger) != true)
            {
                Problem(key, $"It applies to the '{Status.StatusJson.WireName(trigger)}' trigger only: add {Status.StatusJson.WireName(trigger)} to the triggers, or leave it out.");
            }
        }

        Threshold(rule.RisingEpochs, rule.RisingEpochs is >= 1 and <= 1000, "rising_epochs", AlertTrigger.LossRising, "1-1000 epochs in a row");
        Threshold(rule.ThroughputFraction, rule.ThroughputFraction is > 0 and < 1, "throughput_fraction", AlertTrigger.ThroughputLow, "a fraction of the median above 0 and below 1 (0.5 is half)");
        Threshold(rule.NoProgressMs, rule.NoProgressMs is >= 1000 and <= 7L * 24 * 3600 * 1000, "no_progress_ms", AlertTrigger.NoProgress, "1000 to 604800000 ms (a second to a week)");
        Threshold(rule.DiskFreePercent, rule.DiskFreePercent is > 0 and <= 100, "disk_free_percent", AlertTrigger.DiskFull, "a percentage above 0, at most 100");

        var hasCommand = rule.Command is not null;
        var hasWebhook = rule.WebhookUrl is not null;
        if (hasCommand == hasWebhook)
        {
            Problem(hasCommand ? "command" : "webhook_url", "Give exactly one target: a command or a webhook URL.");
        }

        if (rule.Command is not null && (rule.Command.Count == 0 || string.IsNullOrWhiteSpace(rule.Command[0])))
        {
            Problem("command", "The command is empty: give a program and its arguments.");
        }

        if (rule.WebhookUrl is not null && !IsHttpUrl(rule.WebhookUrl))
        {
            Problem("webhook_url", $"'{rule.WebhookUrl}' is not an absolute http or https URL.");
        }

        if (!Enum.IsDefined(rule.Format))
        {
            Problem("format", $"'{rule.Format}' is not a format: use json, slack or teams.");
        }
        else if (rule.Format != AlertFormat.Json && hasCommand && !hasWebhook)
        {
            Problem("format", "A format applies to a webhook only; a command gets the JSON notice.");
        }

        if (rule.MinIntervalMs is < 0 or > 7L * 24 * 3600 * 1000)
        {
            Problem("min_interval_ms", $"{rule.MinIntervalMs} is out of range: use 0 to 604800000 (a week).");
        }

        if (rule.TimeoutMs is < 100 or > 60_000)
        {
            Problem("timeout_ms", $"{rule.TimeoutMs} is out of range: use 100-60000.");
        }

        return problems.Count == 0 ? rule : throw new ConfigurationException(problems);
    }

    /// <summary>
    /// Sends a test notice through the named rule's real target (<c>Test-StabilityAlert</c>) and records how it went as an
    /// event (<c>alert_test_sent</c> or <c>alert_test_failed</c>) in events.jsonl. A failure of the target is reported in
    /// the result, not thrown.
    /// </summary>
    /// <exception cref="ConfigurationException">No rule has that name.</exception>
    /// <exception cref="CorruptDocumentException">alerts.json exists but cannot be read.</exception>
    public async Task<AlertDeliveryResult> TestAsync(string name, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var rule = Get(name).FirstOrDefault() ?? throw new ConfigurationException(
            [new ConfigurationProblem(Path, null, "name", $"There is no alert rule named '{name}': list them with Get-StabilityAlert, or add it with Set-StabilityAlert.")]);
        using var sender = new AlertSender();
        var result = await sender.SendAsync(rule, AlertPolicy.TestNotice(rule, time), cancellationToken).ConfigureAwait(false);
        var data = new Dictionary<string, string>
        {
            ["rule"] = rule.Name, ["status"] = "test", ["target"] = result.Target,
            ["elapsed_ms"] = ((long)result.Elapsed.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (result.StatusCode is { } code)
        {
            data["status_code"] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (result.Error is { } error)
        {
            data["error"] = error;
        }

        var stabilityEvent = new StabilityEvent
        {
            Time = (time ?? TimeProvider.System).GetUtcNow(),
            Service = rule.Scope,
            Type = result.Succeeded ? "alert_test_sent" : "alert_test_failed",
            Severity = result.Succeeded ? EventSeverity.Info : EventSeverity.Warning,
            Message = result.Succeeded
                ? $"Alert rule '{rule.Name}' sent a test notice to {result.Target}."
                : $"Alert rule '{rule.Name}' could not send a test notice to {result.Target}: {result.Error}",
            Pid = Environment.ProcessId,
            User = Environment.UserName,
            Host = Environment.MachineName,
            Data = data,
        };
        new JsonLinesLog<StabilityEvent>(State.EventsLogPath).Append(stabilityEvent, CancellationToken.None);
        return result;
    }

    /// <summary>Reads a service's alert state; empty when missing or unreadable (the state only tunes notices, it never stops one).</summary>
    public AlertState ReadAlertState(string service) =>
        _store.Read<AlertState>(StatePathIn(State, service)).Document ?? new AlertState();

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(uri.Host);
}
