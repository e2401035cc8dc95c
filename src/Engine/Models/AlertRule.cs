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

    /// <summary>With <see cref="AlertTrigger.LossRising"/>: how many epochs in a row the loss must rise. Null for the default, <see cref="DefaultRisingEpochs"/>.</summary>
    public int? RisingEpochs { get; init; }

    /// <summary>With <see cref="AlertTrigger.ThroughputLow"/>: fire while samples_per_sec is below this fraction of the run's median (0 &lt; f &lt; 1). Null for the default, <see cref="DefaultThroughputFraction"/>.</summary>
    public double? ThroughputFraction { get; init; }

    /// <summary>With <see cref="AlertTrigger.NoProgress"/>: how long the trainer's progress may stand still before the notice, ms. Null for the default, <see cref="DefaultNoProgressMs"/>.</summary>
    public long? NoProgressMs { get; init; }

    /// <summary>With <see cref="AlertTrigger.DiskFull"/>: fire while the state directory's file system has less than this percentage free. Null for the default, <see cref="DefaultDiskFreePercent"/>.</summary>
    public double? DiskFreePercent { get; init; }

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

    /// <summary>Send a <c>resolved</c> notice when the condition clears (the service runs again, the loss falls, throughput recovers, progress resumes, the disk frees up). Default true.</summary>
    public bool SendResolved { get; init; } = true;

    /// <summary>The default of <see cref="RisingEpochs"/>.</summary>
    public const int DefaultRisingEpochs = 3;

    /// <summary>The default of <see cref="ThroughputFraction"/>.</summary>
    public const double DefaultThroughputFraction = 0.5;

    /// <summary>The default of <see cref="NoProgressMs"/>: 10 minutes.</summary>
    public const long DefaultNoProgressMs = 600_000;

    /// <summary>The default of <see cref="DiskFreePercent"/>.</summary>
    public const double DefaultDiskFreePercent = 5;

    /// <summary>The <see cref="Scope"/> that means every service.</summary>
    public const string AllServices = "*";

    /// <summary>True when the rule covers <paramref name="service"/>.</summary>
    public bool Covers(string service) => Scope == AllServices || string.Equals(Scope, service, StringComparison.Ordinal);
}
