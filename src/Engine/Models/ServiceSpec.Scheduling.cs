namespace StabilityTools.Engine.Models;

/// <summary>What a service costs the machine besides its own work: its CPU policy and its supervisor's heartbeat (issue #16).</summary>
public sealed partial record ServiceSpec
{
    /// <summary>
    /// The CPU scheduling policy the service runs under: <c>idle</c> (Linux <c>SCHED_IDLE</c>, the scheduler's lowest
    /// weight: it gets a core only when nothing else wants it, so a trainer never pays for it) or <c>normal</c>. Set
    /// before the program runs (<c>chrt --idle 0</c> in the exec chain), so every thread it starts inherits it. Null
    /// keeps the supervisor's. <see cref="ForKind"/>: <c>idle</c> for a dashboard. The floor: while its health probe
    /// (<see cref="HealthUrl"/>) finds an <c>idle</c> service slow, the supervisor lifts it to <c>normal</c> at its
    /// <see cref="Nice"/>; a service without a probe has no floor, so only ask for <c>idle</c> where starving is harmless.
    /// </summary>
    public string? CpuPolicy { get; init; }

    /// <summary>The policy names <see cref="CpuPolicy"/> accepts.</summary>
    public const string CpuPolicyIdle = "idle", CpuPolicyNormal = "normal";

    /// <summary>
    /// How often the supervisor rewrites <c>status.json</c> (its heartbeat, with the service's CPU and memory) while
    /// nothing else happens. Readers call a supervisor gone after <see cref="Status.Liveness.StaleHeartbeats"/> missed
    /// intervals (never less than their own floor, 5 s). 1000–60000; default 5000 ms (a spec written without the field reads with it).
    /// </summary>
    public int HeartbeatIntervalMs
    {
        get => _heartbeatIntervalMs ?? DefaultHeartbeatIntervalMs;
        init => _heartbeatIntervalMs = value;
    }

    private readonly int? _heartbeatIntervalMs;

    /// <summary>The heartbeat interval of a spec that does not set one.</summary>
    public const int DefaultHeartbeatIntervalMs = 5000;
}
