using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>What a session trains and where: the settings, the prepared data, the device and the run's size.</summary>
/// <param name="Options">The trainer's settings.</param>
/// <param name="Features">The prepared samples and the validation split.</param>
/// <param name="Device">The device trained on.</param>
/// <param name="DeviceName"><c>cpu</c> or <c>cuda:N</c>.</param>
/// <param name="Threads">The intra-op thread count in use.</param>
internal sealed record TrainingPlan(TrainerOptions Options, FeatureSet Features, Device Device, string DeviceName, int Threads)
{
    /// <summary>Optimizer steps in one epoch.</summary>
    public int BatchesPerEpoch { get; } = (Features.TrainCount + Options.Training.BatchSize - 1) / Options.Training.BatchSize;

    /// <summary>Optimizer steps in the whole run.</summary>
    public long TotalSteps => (long)BatchesPerEpoch * Options.Training.Epochs;
}
