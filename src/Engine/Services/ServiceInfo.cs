using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>
/// A service as a caller sees it: its <c>status.json</c> judged at read time (a non-final state whose supervisor is
/// gone or silent reads <see cref="ServiceState.Unknown"/>) with its kind from <c>spec.json</c>.
/// </summary>
public sealed record ServiceInfo
{
    /// <summary>The service name.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>training</c>, <c>dashboard</c> or <c>program</c>.</summary>
    public string Kind { get; init; } = "program";

    /// <summary>The state, judged at read time.</summary>
    public ServiceState State { get; init; }

    /// <summary>The service process's pid; 0 when none runs.</summary>
    public int Pid { get; init; }

    /// <summary>The supervisor's pid; 0 when none was recorded.</summary>
    public int SupervisorPid { get; init; }

    /// <summary>When the current (or last) service process started, UTC.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The supervisor's last heartbeat, UTC.</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>Restarts since the service was started.</summary>
    public int Restarts { get; init; }

    /// <summary>The exit code of the last exit.</summary>
    public int? LastExitCode { get; init; }

    /// <summary>The signal that ended the last run, when one did.</summary>
    public int? LastExitSignal { get; init; }

    /// <summary>CPU use of the whole tree, percent of one core.</summary>
    public double CpuPercent { get; init; }

    /// <summary>Resident memory of the whole tree, MB.</summary>
    public double MemoryMB { get; init; }

    /// <summary>GPU memory, MB; null without a GPU probe.</summary>
    public double? GpuMemoryMB { get; init; }

    /// <summary>
    /// The CPU scheduling policy the service runs under now, as its supervisor last reported it: <c>idle</c> (Linux
    /// SCHED_IDLE), <c>normal</c> (asked for, or an idle service its floor lifted while its health probe found it slow),
    /// or null when its spec sets none (it runs under its supervisor's policy, normally the ordinary one).
    /// </summary>
    public string? CpuPolicy { get; init; }

    /// <summary>
    /// How often its supervisor rewrites the status (its heartbeat), ms: what the supervisor announced, else the spec's
    /// <c>heartbeat_interval_ms</c>. Three missed heartbeats (at least 5 s) make the service read Unknown.
    /// </summary>
    public int? HeartbeatIntervalMs { get; init; }

    /// <summary>Why the service is not healthy, when it is not.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>The host its supervisor runs on.</summary>
    public string? Host { get; init; }

    /// <summary>When the next restart is due (state backoff).</summary>
    public DateTimeOffset? NextRestartAt { get; init; }

    /// <summary>The last control request the supervisor handled.</summary>
    public ControlAck? LastControl { get; init; }

    /// <summary>Where its supervisor runs: <c>local</c>, or <c>slurm</c> for a Slurm job.</summary>
    public string Backend { get; init; } = "local";

    /// <summary>The Slurm job id, for a service that runs as a Slurm job.</summary>
    public string? JobId { get; init; }

    /// <summary>The Slurm job state (<c>PENDING</c>, <c>RUNNING</c>, <c>COMPLETED</c>, <c>FAILED</c>, <c>CANCELLED</c>…); null once Slurm forgot the job.</summary>
    public string? JobState { get; init; }

    /// <summary>Why the Slurm job is pending (<c>Priority</c>, <c>Resources</c>, <c>BeginTime</c>…), when it is.</summary>
    public string? JobReason { get; init; }

    /// <summary>The node that runs the Slurm job's supervisor.</summary>
    public string? Node { get; init; }

    /// <summary>The state directory it lives in (piped cmdlets bind it, so a pipeline stays in one state directory).</summary>
    public string StateRoot { get; init; } = "";

    /// <summary>The training run the service works on (<c>runs/&lt;run_id&gt;/</c>); null for a service without one.</summary>
    public string? RunId { get; init; }

    private readonly ServiceRates? _rates;
    private readonly Lazy<ServiceRates?>? _ratesSource;

    /// <summary>
    /// Restarts, failures, hangs and limit events over the last hour, 24 hours and 7 days, with their trends, from
    /// <c>events.jsonl</c>; null when they were not asked for (ProcessManager.WithRates) or the log cannot
    /// be read. Given as a source (<see cref="RatesSource"/>), they are read the first time someone looks.
    /// </summary>
    public ServiceRates? Rates
    {
        get => _rates ?? _ratesSource?.Value;
        init => _rates = value;
    }

    /// <summary>
    /// Where <see cref="Rates"/> come from when first read: a status command's table never looks at them, so a call
    /// that only shows states never reads <c>events.jsonl</c> (which may hold 7 days of a restart storm).
    /// </summary>
    public Func<ServiceRates?>? RatesSource
    {
        init => _ratesSource = value is null ? null : new Lazy<ServiceRates?>(value, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Restarts in the last hour (<see cref="Rates"/>); 0 without rates.</summary>
    public int RestartsLastHour => Rates?.LastHour.Restarts ?? 0;

    /// <summary>Restarts in the last 24 hours.</summary>
    public int RestartsLast24Hours => Rates?.Last24Hours.Restarts ?? 0;

    /// <summary>Restarts in the last 7 days.</summary>
    public int RestartsLast7Days => Rates?.Last7Days.Restarts ?? 0;

    /// <summary>Restarts of the last hour against the hour before.</summary>
    public ServiceTrend RestartsTrend => Rates?.RestartsTrend ?? ServiceTrend.Steady;

    /// <summary>Failures (non-zero exits, signals, failed launches) in the last hour.</summary>
    public int FailuresLastHour => Rates?.LastHour.Failures ?? 0;

    /// <summary>Failures in the last 24 hours.</summary>
    public int FailuresLast24Hours => Rates?.Last24Hours.Failures ?? 0;

    /// <summary>Failures in the last 7 days.</summary>
    public int FailuresLast7Days => Rates?.Last7Days.Failures ?? 0;

    /// <summary>Failures of the last hour against the hour before.</summary>
    public ServiceTrend FailuresTrend => Rates?.FailuresTrend ?? ServiceTrend.Steady;

    /// <summary>The raw status document, when one was read.</summary>
    public ProcessStatus? Status { get; init; }
}
