namespace StabilityTools.Engine.Models;

/// <summary>
/// One line of <c>events.jsonl</c>: a lifecycle or audit event (started, exited, restarting, fatal,
/// limit_exceeded, hang_detected, control, checkpoint_fallback, ...).
/// </summary>
public sealed record StabilityEvent
{
    /// <summary>When it happened, UTC.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>The service it concerns, when one.</summary>
    public string? Service { get; init; }

    /// <summary>The event type, snake_case, e.g. <c>exited</c>.</summary>
    public string Type { get; init; } = "";

    /// <summary><c>info</c>, <c>warning</c> or <c>error</c>. Default <see cref="EventSeverity.Info"/>.</summary>
    public EventSeverity Severity { get; init; } = EventSeverity.Info;

    /// <summary>A sentence for people.</summary>
    public string Message { get; init; } = "";

    /// <summary>The process that recorded it.</summary>
    public int Pid { get; init; }

    /// <summary>The user on whose behalf it was recorded (control requests: the requester).</summary>
    public string? User { get; init; }

    /// <summary>The host it was recorded on.</summary>
    public string? Host { get; init; }

    /// <summary>Structured details, e.g. <c>exit_code</c>, <c>delay_ms</c>, <c>request_id</c>.</summary>
    public IReadOnlyDictionary<string, string>? Data { get; init; }
}
