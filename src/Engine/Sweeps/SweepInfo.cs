using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Engine.Sweeps;

/// <summary>A sweep as <c>Get-TrainingSweep</c> shows it: progress counts, the best trial, every trial.</summary>
public sealed record SweepInfo
{
    /// <summary>The sweep.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>running</c>, <c>completed</c>, <c>stopped</c>, or <c>interrupted</c> (recorded running, its controller not: <c>Start-TrainingSweep</c> resumes it).</summary>
    public string State { get; init; } = "";

    /// <summary>The controller service's state; null before it was first started.</summary>
    public ServiceState? ControllerState { get; init; }

    /// <summary>How many times a controller started on it.</summary>
    public int ControllerStarts { get; init; }

    /// <summary><c>grid</c> or <c>random</c>.</summary>
    public string Method { get; init; } = "";

    /// <summary>The metric and goal the trials are ranked by.</summary>
    public string Metric { get; init; } = "";

    /// <summary><c>minimize</c> or <c>maximize</c>.</summary>
    public string Goal { get; init; } = "";

    /// <summary>The most trials at once.</summary>
    public int MaxConcurrent { get; init; }

    /// <summary>GPUs given to each trial.</summary>
    public int GpusPerTrial { get; init; }

    /// <summary>CPU cores given to each trial.</summary>
    public int CpusPerTrial { get; init; }

    /// <summary>Trials in all.</summary>
    public int Total { get; init; }

    /// <summary>Not started yet.</summary>
    public int Pending { get; init; }

    /// <summary>Starting, running or being pruned.</summary>
    public int Running { get; init; }

    /// <summary>Trained to the end.</summary>
    public int Completed { get; init; }

    /// <summary>Stopped by the median rule.</summary>
    public int Pruned { get; init; }

    /// <summary>Ended fatal or could not start.</summary>
    public int Failed { get; init; }

    /// <summary>Stopped with the sweep or by hand.</summary>
    public int Stopped { get; init; }

    /// <summary>The best completed trial; null while none has a value.</summary>
    public SweepTrialInfo? Best { get; init; }

    /// <summary>Every trial, in the plan's order.</summary>
    public IReadOnlyList<SweepTrialInfo> Trials { get; init; } = [];

    /// <summary>The state directory.</summary>
    public string StateRoot { get; init; } = "";

    /// <summary>A line: <c>running: 4/12 completed, 3 running, 1 pruned</c>.</summary>
    public string Summary => $"{State}: {Completed}/{Total} completed, {Running} running, {Pending} pending" +
        (Pruned > 0 ? $", {Pruned} pruned" : "") + (Failed > 0 ? $", {Failed} failed" : "") + (Stopped > 0 ? $", {Stopped} stopped" : "");

    /// <summary>The view of a plan, its progress and its controller's status.</summary>
    public static SweepInfo From(string stateRoot, SweepPlan plan, SweepProgress progress, ServiceInfo? controller)
    {
        var best = progress.BestTrial ?? SweepController.Best(plan, progress.Trials);
        var trials = progress.Trials.Select(t => SweepTrialInfo.From(plan, t, t.Index == best)).ToList();
        var controllerLive = controller is not null && !Status.Liveness.IsFinal(controller.State) && controller.State != ServiceState.Unknown;
        return new SweepInfo
        {
            Name = plan.Name,
            State = progress.State == SweepStates.Running && !controllerLive ? "interrupted" : progress.State,
            ControllerState = controller?.State,
            ControllerStarts = progress.ControllerStarts,
            Method = plan.Method,
            Metric = plan.Metric,
            Goal = plan.Goal,
            MaxConcurrent = plan.MaxConcurrent,
            GpusPerTrial = plan.GpusPerTrial,
            CpusPerTrial = plan.CpusPerTrial,
            Total = trials.Count,
            Pending = trials.Count(t => t.State == TrialStates.Pending),
            Running = trials.Count(t => TrialStates.IsActive(t.State)),
            Completed = trials.Count(t => t.State == TrialStates.Completed),
            Pruned = trials.Count(t => t.State == TrialStates.Pruned),
            Failed = trials.Count(t => t.State == TrialStates.Failed),
            Stopped = trials.Count(t => t.State == TrialStates.Stopped),
            Best = trials.FirstOrDefault(t => t.IsBest),
            Trials = trials,
            StateRoot = stateRoot,
        };
    }
}

/// <summary>One trial as <c>Get-TrainingSweep</c> shows it.</summary>
public sealed record SweepTrialInfo
{
    /// <summary>The sweep.</summary>
    public string Sweep { get; init; } = "";

    /// <summary>1-based.</summary>
    public int Index { get; init; }

    /// <summary>Its service (also the <c>Name</c> Stop-TrainingProcess and Get-ProcessStatus take).</summary>
    public string Name { get; init; } = "";

    /// <summary>See <see cref="TrialStates"/>.</summary>
    public string State { get; init; } = "";

    /// <summary>Its run (Get-TrainingRun, Compare-TrainingRun).</summary>
    public string? RunId { get; init; }

    /// <summary>Its settings, by parameter name (numbers as numbers).</summary>
    public IReadOnlyDictionary<string, object?> Parameters { get; init; } = new Dictionary<string, object?>();

    /// <summary>Its best value of the sweep's metric.</summary>
    public double? Value { get; init; }

    /// <summary>Epochs it reported.</summary>
    public int Epochs { get; init; }

    /// <summary>The epoch the median rule stopped it at.</summary>
    public int? PrunedAtEpoch { get; init; }

    /// <summary>Its GPUs.</summary>
    public IReadOnlyList<int> Gpus { get; init; } = [];

    /// <summary>Its CPU cores (with CPUs per trial).</summary>
    public IReadOnlyList<int> Cpus { get; init; } = [];

    /// <summary>How many times its service was started.</summary>
    public int Launches { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset? Started { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>Why it failed or was pruned.</summary>
    public string? Message { get; init; }

    /// <summary>True for the sweep's best trial.</summary>
    public bool IsBest { get; init; }

    /// <summary>The view of one trial.</summary>
    public static SweepTrialInfo From(SweepPlan plan, SweepTrial trial, bool best) => new()
    {
        Sweep = plan.Name,
        Index = trial.Index,
        Name = trial.Service,
        State = trial.State,
        RunId = trial.RunId,
        Parameters = plan.Trials[trial.Index - 1].Parameters.ToDictionary(p => p.Key, p => Plain(p.Value), StringComparer.Ordinal),
        Value = trial.Value,
        Epochs = trial.Epochs,
        PrunedAtEpoch = trial.PrunedAtEpoch,
        Gpus = trial.Gpus,
        Cpus = trial.Cpus,
        Launches = trial.Launches,
        Started = trial.Started,
        Ended = trial.Ended,
        Message = trial.Message,
        IsBest = best,
    };

    private static object? Plain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.TryGetInt64(out var n) ? n : value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };
}
