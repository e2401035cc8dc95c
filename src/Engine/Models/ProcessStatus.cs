namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/status.json</c>: what a supervisor knows of its service. The seed's ProcessStatus
/// field for field (<c>name</c>, <c>pid</c>, <c>status</c>, <c>start_time</c>, <c>last_heartbeat</c>,
/// <c>memory_usage</c> in MB, <c>cpu_usage</c> in percent, <c>error_message</c>), plus the supervisor's extras.
/// </summary>
public sealed record ProcessStatus : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "process_status";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The service name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The service kind: <c>training</c>, <c>dashboard</c> or <c>program</c>.</summary>
    public string Kind { get; init; } = "program";

    /// <summary>The service process's pid; 0 when none is running.</summary>
    public int Pid { get; init; }

    /// <summary>The lifecycle state.</summary>
    public ServiceState Status { get; init; } = ServiceState.Unknown;

    /// <summary>When the current service process started, UTC.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The supervisor's last heartbeat (it rewrites this file at least every <see cref="HeartbeatIntervalMs"/> while alive).</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>
    /// How often this supervisor beats, ms (its spec's <c>heartbeat_interval_ms</c>); readers judge staleness against it
    /// (<c>Status.Liveness</c>). Null in files of supervisors before it existed, which beat every second.
    /// </summary>
    public int? HeartbeatIntervalMs { get; init; }

    /// <summary>The CPU scheduling policy the service runs under now: <c>idle</c> (SCHED_IDLE), <c>normal</c> (also while the floor lifts an idle service), or null (the supervisor's, not set).</summary>
    public string? CpuPolicy { get; init; }

    /// <summary>Resident memory of the service's whole process tree, MB, sampled with each heartbeat.</summary>
    public double MemoryUsage { get; init; }

    /// <summary>CPU use of the service's whole process tree, percent of one core, averaged since the previous sample (at most one heartbeat interval).</summary>
    public double CpuUsage { get; init; }

    /// <summary>Why the service is not healthy, when it is not.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>The supervisor's pid.</summary>
    public int SupervisorPid { get; init; }

    /// <summary>The supervisor's start time as the OS reports it (Linux: clock ticks since boot), to tell a reused pid apart.</summary>
    public long SupervisorStartTicks { get; init; }

    /// <summary>The service process's start time as the OS reports it, to tell a reused pid apart.</summary>
    public long PidStartTicks { get; init; }

    /// <summary>
    /// The id of the named pipes the running service writes its output into (<c>services/&lt;name&gt;/pipes/&lt;id&gt;.out</c>,
    /// <c>.err</c>): a supervisor that replaces a dead one reads on from them (issue #22). Null while no service runs,
    /// and for a service started before pipes (its supervisor's death ends its output, as it always did).
    /// </summary>
    public string? OutputPipe { get; init; }

    /// <summary>When the supervisor took the running service over from a predecessor that died (issue #22); null when it started it itself.</summary>
    public DateTimeOffset? AdoptedAt { get; init; }

    /// <summary>The host the supervisor runs on.</summary>
    public string? Host { get; init; }

    /// <summary>How many times the service was restarted since it was started.</summary>
    public int Restarts { get; init; }

    /// <summary>The exit code of the last exit, when it exited normally.</summary>
    public int? LastExitCode { get; init; }

    /// <summary>The signal that ended the last run, when one did (Unix).</summary>
    public int? LastExitSignal { get; init; }

    /// <summary>When the last run ended.</summary>
    public DateTimeOffset? LastExitTime { get; init; }

    /// <summary>When the next restart is due, in <see cref="ServiceState.Backoff"/>.</summary>
    public DateTimeOffset? NextRestartAt { get; init; }

    /// <summary>GPU memory used by the service's processes, MB; null when no GPU probe is present.</summary>
    public double? GpuMemoryMb { get; init; }

    /// <summary>The last control request handled.</summary>
    public ControlAck? LastControl { get; init; }

    /// <summary>The training run the service works on (<c>runs/&lt;run_id&gt;/</c>); null for a service that is not a trainer.</summary>
    public string? RunId { get; init; }
}
