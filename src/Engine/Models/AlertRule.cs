namespace StabilityTools.Engine.Models;

/// <summary>
/// One alert rule of <c>alerts.json</c>: which services (<see cref="Scope"/>), on what (<see cref="On"/>), to where
/// (<see cref="Command"/> or <see cref="WebhookUrl"/>), and how often at most (<see cref="MinIntervalMs"/>). Validated
/// by <see cref="Alerts.AlertBook.Validate"/>.
/// </summary>
public sealed record AlertRule
{
    /// <summary>The rule's name, unique in the state directory; the rule for a service name (a–z, 0–9, '.', '_', '-').</summary>
    public string Name { get; init; } = "";

    /// <summary>A service name, or <c>*</c> (the default) for every service of the state directory.</summary>
    public string Scope { get; init; } = AllServices;

    /// <summary>The triggers it fires on; at least one.</summary>
    public IReadOnlyList<AlertTrigger> On { get; init; } = [];

    /// <summary>With <see cref="AlertTrigger.Restart"/>: fire only while the service restarted more than this many times in the last hour. Default 0 (every restart, rate-limited).</summary>
    public int RestartsPerHour { get; init; }

    /// <summary>A command (program and arguments) run with the notice JSON on stdin and in <c>STABILITY_ALERT</c>. Null when a webhook is the target.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>An http or https URL that receives the notice by POST. Null when a command is the target.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>The webhook body: <see cref="AlertFormat.Json"/> (default), Slack or Teams.</summary>
    public AlertFormat Format { get; init; } = AlertFormat.Json;

    /// <summary>
    /// The least time between two notices of this rule for one service and trigger; those in between are counted, not
    /// sent, and the count goes with the next. Default 300000 (5 minutes); 0 sends every one.
    /// </summary>
    public long MinIntervalMs { get; init; } = 300_000;

    /// <summary>How long a delivery may take (a webhook's answer, a command's exit) before it counts as failed. Default 10000 ms; 100–60000.</summary>
    public int TimeoutMs { get; init; } = 10_000;

    /// <summary>Send a <c>resolved</c> notice when the condition clears (the service runs again). Default true.</summary>
    public bool SendResolved { get; init; } = true;

    /// <summary>The <see cref="Scope"/> that means every service.</summary>
    public const string AllServices = "*";

    /// <summary>True when the rule covers <paramref name="service"/>.</summary>
    public bool Covers(string service) => Scope == AllServices || string.Equals(Scope, service, StringComparison.Ordinal);
}
