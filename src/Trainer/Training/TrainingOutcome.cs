using StabilityTools.Engine.Models;

namespace StabilityTools.Trainer.Training;

/// <summary>How a training session ended.</summary>
/// <param name="State"><see cref="TrainerState.Completed"/> or <see cref="TrainerState.Stopped"/> (a failure is an exception).</param>
/// <param name="RunId">The run.</param>
/// <param name="EpochsDone">Completed epochs of the run.</param>
/// <param name="Step">Optimizer steps of the run.</param>
/// <param name="ModelPath">The final model (completed) or the newest checkpoint (stopped), when one.</param>
/// <param name="History">Every completed epoch of the run, oldest first (including those before a resume).</param>
/// <param name="ResumedFrom">The checkpoint this session resumed from, when it did.</param>
/// <param name="Device">The device trained on.</param>
/// <param name="Threads">The intra-op thread count.</param>
internal sealed record TrainingOutcome(
    TrainerState State,
    string RunId,
    int EpochsDone,
    long Step,
    string? ModelPath,
    IReadOnlyList<EpochSummary> History,
    string? ResumedFrom,
    string Device,
    int Threads);
