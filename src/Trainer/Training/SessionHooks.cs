namespace StabilityTools.Trainer.Training;

/// <summary>Observation points for tests and benchmarks; the trainer executable uses none.</summary>
internal sealed record SessionHooks
{
    /// <summary>Called on the training thread before each epoch (1-based) with the session's status publisher.</summary>
    public Action<int, StatusPublisher>? EpochStarting { get; init; }

    /// <summary>Called on the training thread after each optimizer step with the run's step count.</summary>
    public Action<long, StatusPublisher>? StepCompleted { get; init; }

    /// <summary>Wrappers around the status writer thread and its write rounds.</summary>
    public StatusWriterHooks? StatusWriter { get; init; }
}
