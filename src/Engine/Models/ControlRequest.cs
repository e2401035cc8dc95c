namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/control.json</c> (schema <c>control_request/1</c>): one request to the service's
/// supervisor. The caller writes it atomically with a new <see cref="RequestId"/>; the supervisor reacts within
/// 100 ms and acknowledges by writing the id and the outcome into <c>status.json</c> (<c>last_control</c>).
/// </summary>
public sealed record ControlRequest : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "control_request";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>A new id per request; the acknowledgement carries it back.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>What to do.</summary>
    public ControlCommand Command { get; init; }

    /// <summary>Who asked.</summary>
    public Requester? RequestedBy { get; init; }

    /// <summary>When the request was made, UTC.</summary>
    public DateTimeOffset RequestedAt { get; init; }

    /// <summary>For stop and restart: how long to wait after the graceful signal; null uses the spec's <c>stop_timeout_ms</c>.</summary>
    public int? StopTimeoutMs { get; init; }

    /// <summary>For stop and restart: kill the whole tree at once, without the graceful signal.</summary>
    public bool Force { get; init; }

    /// <summary>Creates a request with a fresh id from the current user and process.</summary>
    public static ControlRequest Create(ControlCommand command, TimeProvider? time = null, TimeSpan? stopTimeout = null, bool force = false) => new()
    {
        RequestId = Guid.NewGuid().ToString("N"),
        Command = command,
        RequestedBy = Requester.Current,
        RequestedAt = (time ?? TimeProvider.System).GetUtcNow(),
        StopTimeoutMs = stopTimeout is { } t ? (int)Math.Ceiling(t.TotalMilliseconds) : null,
        Force = force,
    };
}
