namespace StabilityTools.Engine.Models;

/// <summary>
/// One line of a run's <c>runs/&lt;run_id&gt;/metrics.jsonl</c>: an epoch summary (<c>kind = "epoch"</c>) or a sampled step
/// (<c>kind = "step"</c>). A reader's history holds each (run, epoch) epoch record once.
/// </summary>
public sealed record MetricRecord
{
    /// <summary>When it was recorded, UTC.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>Identifies the run.</summary>
    public string? RunId { get; init; }

    /// <summary>What it measures (<c>epoch</c> or <c>step</c>); <see cref="MetricKind.Unknown"/> for a word this version does not know.</summary>
    public MetricKind Kind { get; init; } = MetricKind.Epoch;

    /// <summary>The epoch (1-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps so far.</summary>
    public long Step { get; init; }

    /// <summary>Training loss (mean over the epoch for epoch records).</summary>
    public double? TrainLoss { get; init; }

    /// <summary>Training accuracy, 0..1.</summary>
    public double? TrainAccuracy { get; init; }

    /// <summary>Validation loss (epoch records).</summary>
    public double? ValLoss { get; init; }

    /// <summary>Validation accuracy, 0..1 (epoch records).</summary>
    public double? ValAccuracy { get; init; }

    /// <summary>Samples per second.</summary>
    public double? SamplesPerSec { get; init; }

    /// <summary>The learning rate in force.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Further named scalars the trainer reports (<c>{"grad_norm": 1.3}</c>); null for none.</summary>
    public IReadOnlyDictionary<string, double>? Scalars { get; init; }
}
