namespace StabilityTools.Engine.Models;

/// <summary>
/// What an alert rule fires on (<see cref="AlertRule.On"/>); written <c>fatal</c>, <c>hang_detected</c>,
/// <c>limit_exceeded</c>, <c>restart</c>, <c>supervisor_replaced</c>, <c>loss_not_finite</c>.
/// </summary>
public enum AlertTrigger
{
    /// <summary>The service went fatal (gave up restarting, or could not be launched).</summary>
    Fatal,

    /// <summary>The service stopped making progress and is being restarted.</summary>
    HangDetected,

    /// <summary>The service crossed a memory limit or GPU quota.</summary>
    LimitExceeded,

    /// <summary>The service is being restarted more often than <see cref="AlertRule.RestartsPerHour"/> an hour.</summary>
    Restart,

    /// <summary>Reserved: the supervisor of the service was replaced (the scanner of issue #18). Accepted, never fired yet.</summary>
    SupervisorReplaced,

    /// <summary>The trainer reported a loss (or validation loss) that is NaN or infinite in its run's training_status.json.</summary>
    LossNotFinite,
}
