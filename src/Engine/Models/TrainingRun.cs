using System.Text.Json;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>runs/&lt;run_id&gt;/run.json</c> (schema <c>training_run/1</c>): one training run, recorded with everything that
/// defines it and how it ended. The start (<c>Start-TrainingProcess</c>) creates it; the trainer fills in its
/// configuration, version, host and device when it starts and the final and best metrics when it ends.
/// </summary>
/// <remarks>
/// A run belongs to one service. Restarts of that service (by policy, after a hang, a Slurm requeue) resume the same
/// run; a new start makes a new run. <see cref="Parameters"/> is the flattened, resolved configuration (dotted keys,
/// e.g. <c>training.learning_rate</c>), so two runs compare key by key.
/// </remarks>
public sealed record TrainingRun : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "training_run";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The run id (also the folder's name).</summary>
    public string RunId { get; init; } = "";

    /// <summary>The service that runs it.</summary>
    public string Service { get; init; } = "";

    /// <summary>The experiment it belongs to; null for none.</summary>
    public string? Experiment { get; init; }

    /// <summary>Free-form labels.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary><c>created</c>, <c>running</c>, <c>completed</c>, <c>failed</c> or <c>stopped</c>.</summary>
    public string State { get; init; } = RunStates.Created;

    /// <summary>When the run was created (its first start).</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When a trainer last started (or resumed) it.</summary>
    public DateTimeOffset? Started { get; init; }

    /// <summary>When it last ended (completed, failed or stopped); null while it runs.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>How many times a trainer started on it (1 for a run never resumed).</summary>
    public int Attempts { get; init; }

    /// <summary>The resolved configuration, flattened to dotted keys (<c>training.learning_rate</c>).</summary>
    public IReadOnlyDictionary<string, JsonElement> Parameters { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>The fingerprint of the parameters that define the result (data, model, schedule, seed); a resume checks it.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The trainer program and its version, e.g. <c>stability-trainer 1.4.0</c>.</summary>
    public string? Trainer { get; init; }

    /// <summary>The host the run last ran on.</summary>
    public string? Host { get; init; }

    /// <summary>The device it trained on (<c>cpu</c>, <c>cuda:0</c>).</summary>
    public string? Device { get; init; }

    /// <summary>Epochs finished.</summary>
    public int Epochs { get; init; }

    /// <summary>The last epoch's metrics by name (<c>train_loss</c>, <c>val_accuracy</c>, custom scalars).</summary>
    public IReadOnlyDictionary<string, double> Final { get; init; } = new Dictionary<string, double>();

    /// <summary>The best value of each metric over the run (lowest for names ending in <c>loss</c>, highest otherwise).</summary>
    public IReadOnlyDictionary<string, double> Best { get; init; } = new Dictionary<string, double>();

    /// <summary>The final model file, once completed.</summary>
    public string? FinalModel { get; init; }

    /// <summary>Why it failed; null otherwise.</summary>
    public string? ErrorMessage { get; init; }
}

/// <summary>The values of <see cref="TrainingRun.State"/>.</summary>
public static class RunStates
{
    /// <summary>Created by a start; no trainer has reported yet.</summary>
    public const string Created = "created";

    /// <summary>A trainer works on it.</summary>
    public const string Running = "running";

    /// <summary>Finished all its epochs.</summary>
    public const string Completed = "completed";

    /// <summary>Ended with an error.</summary>
    public const string Failed = "failed";

    /// <summary>Stopped before the end; resumable.</summary>
    public const string Stopped = "stopped";

    /// <summary>True for the states in which no trainer works on the run.</summary>
    public static bool IsFinished(string state) => state is Completed or Failed or Stopped;
}
