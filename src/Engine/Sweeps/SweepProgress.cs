using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>sweeps/&lt;name&gt;/progress.json</c> (schema <c>sweep_progress/1</c>): where each trial of a sweep stands. The
/// controller writes it — a trial is recorded <c>starting</c>, with its run id, before its service is started, so a
/// controller that dies at any moment is followed by one that finds the trial (running, done, or never started) and
/// neither loses nor repeats it. <c>Stop-TrainingSweep</c> writes it once the controller is stopped.
/// </summary>
public sealed record SweepProgress : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "sweep_progress";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The sweep.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>running</c>, <c>completed</c> (every trial ended) or <c>stopped</c>.</summary>
    public string State { get; init; } = SweepStates.Running;

    /// <summary>How many times a controller started on this sweep (1 for one that was never replaced).</summary>
    public int ControllerStarts { get; init; }

    /// <summary>When the last trial ended, or the sweep was stopped.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>Every trial of the plan, in its order.</summary>
    public IReadOnlyList<SweepTrial> Trials { get; init; } = [];

    /// <summary>The best completed (or pruned-free) trial's index by the plan's metric and goal; null while none has a value.</summary>
    public int? BestTrial { get; init; }
}

/// <summary>One trial's state.</summary>
public sealed record SweepTrial
{
    /// <summary>1-based, as in the plan.</summary>
    public int Index { get; init; }

    /// <summary>Its service.</summary>
    public string Service { get; init; } = "";

    /// <summary>See <see cref="TrialStates"/>.</summary>
    public string State { get; init; } = TrialStates.Pending;

    /// <summary>Its run (chosen before its start, so that every life of the controller means the same run).</summary>
    public string? RunId { get; init; }

    /// <summary>The GPUs it was given.</summary>
    public IReadOnlyList<int> Gpus { get; init; } = [];

    /// <summary>The CPU cores given to it (with CPUs per trial).</summary>
    public IReadOnlyList<int> Cpus { get; init; } = [];

    /// <summary>When it was (first) started.</summary>
    public DateTimeOffset? Started { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>How many times its service was started (more than 1 only after its supervisor was lost).</summary>
    public int Launches { get; init; }

    /// <summary>The epochs it reported.</summary>
    public int Epochs { get; init; }

    /// <summary>Its best value of the plan's metric so far.</summary>
    public double? Value { get; init; }

    /// <summary>The epoch at which the median rule stopped it.</summary>
    public int? PrunedAtEpoch { get; init; }

    /// <summary>Why it failed, or was pruned.</summary>
    public string? Message { get; init; }
}

/// <summary>The states of a sweep.</summary>
public static class SweepStates
{
    /// <summary>Its controller works on it.</summary>
    public const string Running = "running";

    /// <summary>Every trial ended.</summary>
    public const string Completed = "completed";

    /// <summary>Stopped by <c>Stop-TrainingSweep</c>; a new <c>Start-TrainingSweep</c> of the same plan goes on.</summary>
    public const string Stopped = "stopped";
}

/// <summary>The states of a trial.</summary>
public static class TrialStates
{
    /// <summary>Not started yet.</summary>
    public const string Pending = "pending";

    /// <summary>Recorded for a start (its run id chosen); its service may or may not be running yet.</summary>
    public const string Starting = "starting";

    /// <summary>Its service runs.</summary>
    public const string Running = "running";

    /// <summary>The median rule stopped it; its service is being stopped.</summary>
    public const string Pruning = "pruning";

    /// <summary>Trained to the end.</summary>
    public const string Completed = "completed";

    /// <summary>Its service ended fatal (a crash loop, a configuration error).</summary>
    public const string Failed = "failed";

    /// <summary>Stopped early by the median rule.</summary>
    public const string Pruned = "pruned";

    /// <summary>Stopped with the sweep, or by hand.</summary>
    public const string Stopped = "stopped";

    /// <summary>True for a state no trial leaves.</summary>
    public static bool IsFinal(string state) => state is Completed or Failed or Pruned or Stopped;

    /// <summary>True for a trial that takes a place (a slot, its GPUs).</summary>
    public static bool IsActive(string state) => state is Starting or Running or Pruning;
}
