using System.Text.Json;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>sweeps/&lt;name&gt;/plan.json</c> (schema <c>sweep_plan/1</c>): what a sweep runs — every trial with its settings,
/// the trial's service spec, how many run at once and how they are judged. Written once by <c>Start-TrainingSweep</c>
/// and never changed: a restarted controller works from the same plan, so a trial is the same trial in every life.
/// </summary>
public sealed record SweepPlan : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "sweep_plan";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The sweep's name: its folder, the experiment its runs belong to, and the stem of its services' names.</summary>
    public string Name { get; init; } = "";

    /// <summary>When the plan was made.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary><c>grid</c> (every combination) or <c>random</c> (<see cref="Count"/> draws with <see cref="Seed"/>).</summary>
    public string Method { get; init; } = SweepMethods.Grid;

    /// <summary>The random draws' seed (random only).</summary>
    public int? Seed { get; init; }

    /// <summary>How many trials a random sweep draws.</summary>
    public int? Count { get; init; }

    /// <summary>The parameters swept, in the order given, each with its values.</summary>
    public IReadOnlyList<SweepParameter> Parameters { get; init; } = [];

    /// <summary>Every trial, in the order they start.</summary>
    public IReadOnlyList<SweepTrialPlan> Trials { get; init; } = [];

    /// <summary>
    /// The spec every trial's service is made from (its name, run, experiment, settings and GPUs are the trial's).
    /// </summary>
    public ServiceSpec Trial { get; init; } = new();

    /// <summary>True when <see cref="Trial"/> runs the built-in trainer, which takes settings as <c>STABILITY_TRAINER_&lt;SECTION&gt;__&lt;KEY&gt;</c>.</summary>
    public bool BuiltInTrainer { get; init; }

    /// <summary>The most trials running at once.</summary>
    public int MaxConcurrent { get; init; } = 1;

    /// <summary>GPUs given to each trial exclusively; 0 runs trials on CPU.</summary>
    public int GpusPerTrial { get; init; }

    /// <summary>CPU cores given to each trial for itself (its CPU affinity); 0 leaves trials unpinned.</summary>
    public int CpusPerTrial { get; init; }

    /// <summary>The metric trials are judged by, a name of <c>metrics.jsonl</c> (<c>val_loss</c>, <c>train_loss</c>, <c>val_accuracy</c>, or a scalar's).</summary>
    public string Metric { get; init; } = "val_loss";

    /// <summary><c>minimize</c> or <c>maximize</c>.</summary>
    public string Goal { get; init; } = SweepGoals.Minimize;

    /// <summary><c>none</c> or <c>median</c> (the median stopping rule).</summary>
    public string EarlyStop { get; init; } = "none";

    /// <summary>The median rule judges a trial only once this many trials have completed.</summary>
    public int EarlyStopMinTrials { get; init; } = 3;

    /// <summary>The median rule judges a trial only after this many epochs.</summary>
    public int EarlyStopWarmupEpochs { get; init; } = 1;

    /// <summary>A digest of what decides the trials (parameters, trials, spec, judging): a second start of the same name must match it.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>The controller's service name: <c>&lt;name&gt;-sweep</c>.</summary>
    public static string ControllerName(string sweep) => $"{sweep}-sweep";

    /// <summary>The service name of trial <paramref name="index"/> (1-based): <c>&lt;name&gt;-t001</c>.</summary>
    public static string TrialName(string sweep, int index) => $"{sweep}-t{index.ToString("000", System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The longest sweep name: its trial services' names must still be valid (63 characters).</summary>
    public const int MaxNameLength = 50;
}

/// <summary>One swept parameter: a dotted name (<c>training.learning_rate</c>) and the values it takes.</summary>
/// <param name="Name">The parameter.</param>
/// <param name="Values">Its values, as JSON (numbers, strings, booleans).</param>
public sealed record SweepParameter(string Name, IReadOnlyList<JsonElement> Values);

/// <summary>One trial of a plan.</summary>
/// <param name="Index">1-based, the order of the plan.</param>
/// <param name="Service">Its service's name (<see cref="SweepPlan.TrialName"/>).</param>
/// <param name="Parameters">Its settings, by parameter name.</param>
public sealed record SweepTrialPlan(int Index, string Service, IReadOnlyDictionary<string, JsonElement> Parameters);

/// <summary>The search methods.</summary>
public static class SweepMethods
{
    /// <summary>Every combination, the first parameter varying slowest.</summary>
    public const string Grid = "grid";

    /// <summary>Independent draws of a value per parameter.</summary>
    public const string Random = "random";
}

/// <summary>Which way a metric is better.</summary>
public static class SweepGoals
{
    /// <summary>Lower is better (a loss).</summary>
    public const string Minimize = "minimize";

    /// <summary>Higher is better (an accuracy).</summary>
    public const string Maximize = "maximize";
}
