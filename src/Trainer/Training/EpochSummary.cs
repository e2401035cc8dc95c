namespace StabilityTools.Trainer.Training;

/// <summary>What one completed epoch measured; kept in every checkpoint so a resumed run can restore its history.</summary>
internal sealed record EpochSummary
{
    /// <summary>The epoch (1-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps at its end.</summary>
    public long Step { get; init; }

    /// <summary>Mean training loss.</summary>
    public double TrainLoss { get; init; }

    /// <summary>Training accuracy, 0..1.</summary>
    public double TrainAccuracy { get; init; }

    /// <summary>Validation loss.</summary>
    public double ValLoss { get; init; }

    /// <summary>Validation accuracy, 0..1.</summary>
    public double ValAccuracy { get; init; }

    /// <summary>Training throughput over the epoch.</summary>
    public double SamplesPerSec { get; init; }

    /// <summary>The learning rate in force.</summary>
    public double LearningRate { get; init; }

    /// <summary>When the epoch ended.</summary>
    public DateTimeOffset Time { get; init; }
}
