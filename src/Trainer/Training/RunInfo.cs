namespace StabilityTools.Trainer.Training;

/// <summary><c>models/&lt;run&gt;/run.json</c>: what the run is and whether it finished.</summary>
internal sealed record RunInfo
{
    /// <summary>The run.</summary>
    public string RunId { get; init; } = "";

    /// <summary>The fingerprint of the configuration that defines the run.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary><see cref="TrainerState.Running"/> or <see cref="TrainerState.Completed"/> (<c>running</c>, <c>completed</c> in the file).</summary>
    public TrainerState State { get; init; } = TrainerState.Running;

    /// <summary>When the run was first started.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When it completed.</summary>
    public DateTimeOffset? Completed { get; init; }

    /// <summary>The final model, once completed.</summary>
    public string? FinalModel { get; init; }

    /// <summary>The final validation accuracy, once completed.</summary>
    public double? FinalValAccuracy { get; init; }
}
