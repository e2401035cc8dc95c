namespace StabilityTools.Engine.Models;

/// <summary>
/// Where a trainer's run stands: <see cref="TrainingStatus.State"/> (<c>training_status.json</c>'s <c>state</c>), written
/// <c>starting</c>, <c>running</c>, <c>paused</c>, <c>completed</c>, <c>stopped</c>, <c>failed</c>. A reader that meets a
/// word it does not know (from a newer writer, or a program of the user's own) reads <see cref="Unknown"/> and keeps the
/// rest of the document: the figures still show, and <see cref="TrainingStatus.IsRunning"/> still says whether it runs
/// (docs/status-files.md).
/// </summary>
public enum TrainerState
{
    /// <summary>A word this version does not know, or no <c>state</c> at all (the zero a missing field reads as); never written by this version's trainer.</summary>
    Unknown,

    /// <summary>Loading data, the model and the newest checkpoint.</summary>
    Starting,

    /// <summary>Training.</summary>
    Running,

    /// <summary>Waiting for disk space before a durable write.</summary>
    Paused,

    /// <summary>Every epoch trained and the final model written.</summary>
    Completed,

    /// <summary>Stopped on request; the run resumes from its newest checkpoint.</summary>
    Stopped,

    /// <summary>Failed with an error.</summary>
    Failed,
}
