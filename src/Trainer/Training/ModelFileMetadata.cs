using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;

namespace StabilityTools.Trainer.Training;

/// <summary>The metadata block of a final model file.</summary>
internal sealed record ModelFileMetadata
{
    /// <summary>The <see cref="Kind"/> of a final model.</summary>
    public const string FinalModelKind = "final_model";

    /// <summary>What the file is.</summary>
    public string Kind { get; init; } = FinalModelKind;

    /// <summary>The run that trained it.</summary>
    public string RunId { get; init; } = "";

    /// <summary>The model's shape.</summary>
    public ModelOptions Model { get; init; } = new();

    /// <summary>Bars per input window.</summary>
    public int Window { get; init; }

    /// <summary>The feature standardisation of its training data.</summary>
    public Normalization Normalization { get; init; } = new([0, 0, 0], [1, 1, 1]);

    /// <summary>Epochs trained.</summary>
    public int Epochs { get; init; }

    /// <summary>Validation accuracy after the last epoch.</summary>
    public double ValAccuracy { get; init; }
}
