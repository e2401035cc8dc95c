namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/alert_state.json</c>, written by the service's supervisor: per rule and trigger, when a
/// notice was last sent and whether its condition is still open, so that rate limits, deduplication and the
/// <c>resolved</c> notice hold across supervisors (a fatal service's next Start).
/// </summary>
public sealed record AlertState : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "alert_state";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>One entry per rule and trigger that has fired for this service.</summary>
    public IReadOnlyList<AlertTrack> Tracks { get; init; } = [];
}

/// <summary>One rule's record for one trigger of one service (<see cref="AlertState"/>).</summary>
public sealed record AlertTrack
{
    /// <summary>The rule's name.</summary>
    public string Rule { get; init; } = "";

    /// <summary>The trigger.</summary>
    public AlertTrigger Trigger { get; init; }

    /// <summary>When its last notice was sent.</summary>
    public DateTimeOffset? LastSent { get; init; }

    /// <summary>Notices counted, not sent, since the last one sent (deduplicated inside the rule's interval).</summary>
    public int Suppressed { get; init; }

    /// <summary>True while the condition holds (fired, not yet resolved).</summary>
    public bool Open { get; init; }

    /// <summary>When the condition opened.</summary>
    public DateTimeOffset? OpenedAt { get; init; }
}
