namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>data/training_status.json</c>: the trainer's progress. The seed's TrainingStatus field for field
/// (<c>is_running</c>, <c>current_epoch</c>, <c>total_epochs</c>, <c>loss</c>, <c>accuracy</c>,
/// <c>last_update</c>, <c>model_path</c>, <c>error_message</c>) plus step, throughput, ETA, device, run id,
/// heartbeat and the progress counter the supervisor watches for hangs.
/// </summary>
public sealed record TrainingStatus : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "training_status";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>True while training is in progress.</summary>
    public bool IsRunning { get; init; }

    /// <summary>The epoch in progress (1-based), or the last one completed when not running.</summary>
    public int CurrentEpoch { get; init; }

    /// <summary>Epochs in the whole run.</summary>
    public int TotalEpochs { get; init; }

    /// <summary>The latest training loss.</summary>
    public double Loss { get; init; }

    /// <summary>The latest validation accuracy, 0..1.</summary>
    public double Accuracy { get; init; }

    /// <summary>When training last made progress.</summary>
    public DateTimeOffset? LastUpdate { get; init; }

    /// <summary>The newest checkpoint or, when completed, the final model.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Why training failed, when it did.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Where the run stands (<c>starting</c>, <c>running</c>, <c>paused</c>, <c>completed</c>, <c>stopped</c>, <c>failed</c>); <see cref="TrainerState.Unknown"/> for a word this version does not know.</summary>
    public TrainerState State { get; init; } = TrainerState.Starting;

    /// <summary>Identifies the run; stable across restarts that resume it.</summary>
    public string? RunId { get; init; }

    /// <summary>Optimizer steps taken in the whole run.</summary>
    public long Step { get; init; }

    /// <summary>Optimizer steps the whole run will take.</summary>
    public long TotalSteps { get; init; }

    /// <summary>Training throughput, samples per second.</summary>
    public double SamplesPerSec { get; init; }

    /// <summary>Estimated seconds to the end of the run.</summary>
    public double? EtaSeconds { get; init; }

    /// <summary><c>cpu</c> or <c>cuda:N</c>.</summary>
    public string? Device { get; init; }

    /// <summary>The latest validation loss.</summary>
    public double? ValLoss { get; init; }

    /// <summary>The trainer's last sign of life.</summary>
    public DateTimeOffset? Heartbeat { get; init; }

    /// <summary>A counter that grows while training makes progress; the supervisor restarts a trainer whose counter stalls.</summary>
    public long Progress { get; init; }

    /// <summary>The trainer's pid.</summary>
    public int Pid { get; init; }
}
