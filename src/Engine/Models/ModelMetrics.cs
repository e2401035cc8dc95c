namespace StabilityTools.Engine.Models;

/// <summary><c>data/model_metrics.json</c>: the latest metrics snapshot of the trainer.</summary>
public sealed record ModelMetrics : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "model_metrics";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>Identifies the run.</summary>
    public string? RunId { get; init; }

    /// <summary>The last completed epoch.</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps so far.</summary>
    public long Step { get; init; }

    /// <summary>Mean training loss of the last epoch.</summary>
    public double TrainLoss { get; init; }

    /// <summary>Training accuracy of the last epoch, 0..1.</summary>
    public double TrainAccuracy { get; init; }

    /// <summary>Validation loss after the last epoch.</summary>
    public double ValLoss { get; init; }

    /// <summary>Validation accuracy after the last epoch, 0..1.</summary>
    public double ValAccuracy { get; init; }

    /// <summary>The best validation accuracy so far.</summary>
    public double BestValAccuracy { get; init; }

    /// <summary>The epoch of the best validation accuracy.</summary>
    public int BestEpoch { get; init; }

    /// <summary>Training throughput, samples per second.</summary>
    public double SamplesPerSec { get; init; }

    /// <summary>The learning rate in force.</summary>
    public double LearningRate { get; init; }

    /// <summary>The model kind, <c>mlp</c> or <c>lstm</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Trainable parameters in the model.</summary>
    public long Parameters { get; init; }
}
