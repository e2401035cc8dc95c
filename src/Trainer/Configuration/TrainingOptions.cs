namespace StabilityTools.Trainer.Configuration;

/// <summary>The <c>training</c> section.</summary>
internal sealed record TrainingOptions
{
    /// <summary>Epochs in the run. Default 8.</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Samples per optimizer step. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam's learning rate. Default 0.001.</summary>
    public double LearningRate { get; init; } = 0.001;

    /// <summary>Seeds weight initialisation, shuffling and dropout. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Intra-op threads; 0 (default) means the cores this process may use.</summary>
    public int Threads { get; init; }

    /// <summary><c>auto</c> (default: CUDA when TorchSharp reports it, else CPU), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; init; } = "auto";
}
