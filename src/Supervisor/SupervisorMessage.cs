using StabilityTools.Engine.Models;

namespace StabilityTools.Supervisor;

/// <summary>What the supervisor's loop reacts to. Every source (exit waiters, timers, watchers, signals) only posts these; the loop alone changes state.</summary>
internal abstract record SupervisorMessage
{
    /// <summary>A run's process exited and was reaped.</summary>
    public sealed record Exited(ServiceRun Run, int ExitCode) : SupervisorMessage;

    /// <summary>A run is up long enough (and healthy) to count as running.</summary>
    public sealed record Promote(ServiceRun Run) : SupervisorMessage;

    /// <summary>A run stopped making progress or failed its health probes.</summary>
    public sealed record Hung(ServiceRun Run, string Reason) : SupervisorMessage;

    /// <summary>A run is over a resource quota or limit.</summary>
    public sealed record LimitExceeded(ServiceRun Run, Engine.Resources.LimitViolation Violation) : SupervisorMessage;

    /// <summary>The run's trainer reported a loss that is NaN or infinite (<paramref name="What"/> names which and its value).</summary>
    public sealed record LossNotFinite(ServiceRun Run, string What) : SupervisorMessage;

    /// <summary>The tick found a judged condition of an alert rule changed (loss rising, throughput low, no progress, disk full).</summary>
    public sealed record Condition(Engine.Alerts.ConditionReading Reading) : SupervisorMessage;

    /// <summary>A backoff delay ended.</summary>
    public sealed record RestartDue(int Generation) : SupervisorMessage;

    /// <summary>A new control request arrived.</summary>
    public sealed record Control(ControlRequest Request, int? OwnerUid) : SupervisorMessage;

    /// <summary>
    /// Slurm's warning ahead of the job's time limit (SIGUSR1, <c>--signal=B:USR1@N</c>): stop the service gracefully,
    /// so that it checkpoints, and requeue the job to go on from that checkpoint.
    /// </summary>
    public sealed record TimeLimitNear(string JobId) : SupervisorMessage;

    /// <summary>The supervisor itself got SIGTERM or SIGINT: stop the service and end.</summary>
    public sealed record Terminate(string Signal) : SupervisorMessage;
}
