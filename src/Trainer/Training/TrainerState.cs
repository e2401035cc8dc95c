namespace StabilityTools.Trainer.Training;

/// <summary>
/// Where a trainer's run stands: <c>training_status.json</c>'s <c>state</c>, <c>run.json</c>'s <c>state</c> and a
/// session's outcome. Written as the snake_case member name (<see cref="WireNames"/>): <c>starting</c>,
/// <c>running</c>, <c>paused</c>, <c>completed</c>, <c>stopped</c>, <c>failed</c>.
/// </summary>
internal enum TrainerState
{
    /// <summary>Loading data, the model and the newest checkpoint.</summary>
    Starting,

    /// <summary>Training.</summary>
    Running,

    /// <summary>Waiting for disk space before a durable write (<see cref="DiskFullPause"/>).</summary>
    Paused,

    /// <summary>Every epoch trained and the final model written.</summary>
    Completed,

    /// <summary>Stopped on request; the run resumes from its newest checkpoint.</summary>
    Stopped,

    /// <summary>Failed with an error.</summary>
    Failed,
}
