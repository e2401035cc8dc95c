namespace StabilityTools.Engine.Models;

/// <summary>
/// What an alert rule fires on (<see cref="AlertRule.On"/>); written <c>fatal</c>, <c>hang_detected</c>,
/// <c>limit_exceeded</c>, <c>restart</c>, <c>supervisor_replaced</c>, <c>loss_not_finite</c>, and the conditions the
/// supervisor judges while a run lives, each fired once when it starts to hold and resolved when it clears:
/// <c>loss_rising</c>, <c>throughput_low</c>, <c>no_progress</c>, <c>disk_full</c>.
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

    /// <summary>
    /// A supervisor started for the service and found that the previous one had died (killed, not stopped) while the
    /// service was not in a final state.
    /// </summary>
    SupervisorReplaced,

    /// <summary>The trainer reported a loss (or validation loss) that is NaN or infinite in its run's training_status.json.</summary>
    LossNotFinite,

    /// <summary>The run's per-epoch loss (val_loss where the trainer reports it, else the training loss) rose <see cref="AlertRule.RisingEpochs"/> epochs in a row.</summary>
    LossRising,

    /// <summary>The trainer's samples_per_sec fell below <see cref="AlertRule.ThroughputFraction"/> of the median this supervisor has seen for the run.</summary>
    ThroughputLow,

    /// <summary>The trainer's progress (step, epoch, progress counter) has not advanced for <see cref="AlertRule.NoProgressMs"/>: a notice, no restart (unlike hang detection).</summary>
    NoProgress,

    /// <summary>The state directory's file system has less than <see cref="AlertRule.DiskFreePercent"/> % free.</summary>
    DiskFull,
}
