namespace StabilityTools.Trainer.Configuration;

/// <summary>
/// Everything a training run is configured by: immutable, validated once by <see cref="TrainerConfigLoader"/>.
/// The defaults alone give a meaningful run (synthetic data, MLP) of well under a minute on two cores.
/// </summary>
internal sealed record TrainerOptions
{
    /// <summary>The run to create or resume; null derives one from the configuration (see RunDirectory).</summary>
    public string? RunId { get; init; }

    /// <summary>The config file the options came from, when one.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>The <c>data</c> section.</summary>
    public DataOptions Data { get; init; } = new();

    /// <summary>The <c>model</c> section.</summary>
    public ModelOptions Model { get; init; } = new();

    /// <summary>The <c>training</c> section.</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>The <c>checkpointing</c> section.</summary>
    public CheckpointOptions Checkpointing { get; init; } = new();

    /// <summary>The <c>status</c> section.</summary>
    public StatusOptions Status { get; init; } = new();
}
