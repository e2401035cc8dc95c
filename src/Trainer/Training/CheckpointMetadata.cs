namespace StabilityTools.Trainer.Training;

/// <summary>
/// The training position a checkpoint restores: epochs done, the batch reached in the next epoch (non-zero only
/// for a checkpoint taken on a graceful stop mid-epoch), the step counter, the partial epoch's running sums, and
/// the history of completed epochs. The shuffling order of an epoch is a function of the seed and the epoch
/// number, so (epoch, batch) is the whole data position.
/// </summary>
internal sealed record CheckpointMetadata
{
    /// <summary>The format version.</summary>
    public int Format { get; init; } = 1;

    /// <summary>The run.</summary>
    public string RunId { get; init; } = "";

    /// <summary>The configuration fingerprint the run was started with.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>Completed epochs.</summary>
    public int EpochsDone { get; init; }

    /// <summary>Batches of epoch <c>EpochsDone + 1</c> already trained.</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Optimizer steps so far.</summary>
    public long Step { get; init; }

    /// <summary>Sum of batch losses × batch sizes in the partial epoch.</summary>
    public double PartialLossSum { get; init; }

    /// <summary>Correct predictions in the partial epoch.</summary>
    public long PartialCorrect { get; init; }

    /// <summary>Samples in the partial epoch.</summary>
    public long PartialSamples { get; init; }

    /// <summary>Every completed epoch, oldest first.</summary>
    public IReadOnlyList<EpochSummary> History { get; init; } = [];

    /// <summary>When it was written.</summary>
    public DateTimeOffset Time { get; init; }
}
