namespace StabilityTools.Trainer.Configuration;

/// <summary>The <c>checkpointing</c> section.</summary>
internal sealed record CheckpointOptions
{
    /// <summary>Checkpoint every this many epochs (the last epoch always). Default 1.</summary>
    public int IntervalEpochs { get; init; } = 1;

    /// <summary>The newest checkpoints kept per run. Default 3.</summary>
    public int Keep { get; init; } = 3;
}
