namespace StabilityTools.Trainer.Training;

/// <summary>
/// Where a run stands, as a checkpoint saves it and a resume restores it: epochs done, the batch reached in the next
/// epoch, the step counter, the partial epoch's running sums and the history of completed epochs. Owned by one
/// <see cref="TrainingLoop"/> and changed by it alone.
/// </summary>
internal sealed class TrainingPosition
{
    private readonly List<EpochSummary> _history = [];
    private long _checkpointedStep;

    /// <summary>Completed epochs.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>Batches of epoch <see cref="EpochsDone"/> + 1 already trained.</summary>
    public int BatchInEpoch { get; private set; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long Step { get; private set; }

    /// <summary>Sum of batch losses × batch sizes in the partial epoch.</summary>
    public double PartialLossSum { get; private set; }

    /// <summary>Correct predictions in the partial epoch.</summary>
    public long PartialCorrect { get; private set; }

    /// <summary>Samples in the partial epoch.</summary>
    public long PartialSamples { get; private set; }

    /// <summary>Every completed epoch, oldest first.</summary>
    public IReadOnlyList<EpochSummary> History => _history;

    /// <summary>The newest durable checkpoint of the run (the one resumed from until another is written), when one.</summary>
    public string? CheckpointPath { get; private set; }

    /// <summary>True when steps were trained since <see cref="CheckpointPath"/> was written.</summary>
    public bool HasUncheckpointedSteps => Step != _checkpointedStep;

    /// <summary>The running mean training loss of the partial epoch (0 before its first batch).</summary>
    public double PartialLoss => PartialLossSum / Math.Max(1, PartialSamples);

    /// <summary>The running training accuracy of the partial epoch.</summary>
    public double PartialAccuracy => (double)PartialCorrect / Math.Max(1, PartialSamples);

    /// <summary>The start of a run.</summary>
    public static TrainingPosition Start() => new();

    /// <summary>The position a checkpoint saved.</summary>
    public static TrainingPosition Restore(CheckpointMetadata saved, string path)
    {
        var position = new TrainingPosition
        {
            EpochsDone = saved.EpochsDone, BatchInEpoch = saved.BatchInEpoch, Step = saved.Step,
            PartialLossSum = saved.PartialLossSum, PartialCorrect = saved.PartialCorrect, PartialSamples = saved.PartialSamples,
            CheckpointPath = path, _checkpointedStep = saved.Step,
        };
        position._history.AddRange(saved.History);
        return position;
    }

    /// <summary>Counts one trained batch of the current epoch.</summary>
    public void AddBatch(float meanLoss, long correct, int size)
    {
        Step++;
        BatchInEpoch++;
        PartialLossSum += meanLoss * size;
        PartialCorrect += correct;
        PartialSamples += size;
    }

    /// <summary>Closes the current epoch with its validation figures and starts the next one.</summary>
    public EpochSummary CompleteEpoch(int epoch, double valLoss, double valAccuracy, double samplesPerSec, double learningRate)
    {
        var summary = new EpochSummary
        {
            Epoch = epoch, Step = Step, TrainLoss = PartialLoss, TrainAccuracy = PartialAccuracy, ValLoss = valLoss, ValAccuracy = valAccuracy,
            SamplesPerSec = samplesPerSec, LearningRate = learningRate, Time = DateTimeOffset.UtcNow,
        };
        _history.Add(summary);
        EpochsDone = epoch;
        BatchInEpoch = 0;
        (PartialLossSum, PartialCorrect, PartialSamples) = (0, 0, 0);
        return summary;
    }

    /// <summary>What a checkpoint of this position stores beside the model, optimizer and RNG states.</summary>
    public CheckpointMetadata ToMetadata(string runId, string fingerprint) => new()
    {
        RunId = runId, Fingerprint = fingerprint, EpochsDone = EpochsDone, BatchInEpoch = BatchInEpoch, Step = Step,
        PartialLossSum = PartialLossSum, PartialCorrect = PartialCorrect, PartialSamples = PartialSamples,
        History = _history.ToList(), Time = DateTimeOffset.UtcNow,
    };

    /// <summary>Records that a checkpoint of this position is durable at <paramref name="path"/>.</summary>
    public void Checkpointed(string path)
    {
        CheckpointPath = path;
        _checkpointedStep = Step;
    }
}
