namespace StabilityTools.Engine.Models;

/// <summary><c>alerts.json</c> in the state directory's root: the alert rules, changed only by locked read-modify-write (<see cref="Alerts.AlertBook"/>).</summary>
public sealed record AlertRules : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "alert_rules";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The rules, in the order set.</summary>
    public IReadOnlyList<AlertRule> Rules { get; init; } = [];
}
