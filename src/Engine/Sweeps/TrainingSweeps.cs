using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Sweeps;

/// <summary>What <c>Start-TrainingSweep</c> asks for: the settings of a plan (see <see cref="SweepPlan"/>).</summary>
public sealed record SweepRequest
{
    /// <summary>The sweep's name (1–50 characters of a service name).</summary>
    public string Name { get; init; } = "";

    /// <summary>The parameters and their values.</summary>
    public IReadOnlyList<SweepParameter> Parameters { get; init; } = [];

    /// <summary><see cref="SweepMethods"/>.</summary>
    public string Method { get; init; } = SweepMethods.Grid;

    /// <summary>Random: the number of trials.</summary>
    public int? Count { get; init; }

    /// <summary>Random: the seed (default 0).</summary>
    public int? Seed { get; init; }

    /// <summary>The spec each trial is made from (name and run are the trial's).</summary>
    public ServiceSpec Trial { get; init; } = new();

    /// <summary>True when <see cref="Trial"/> is the built-in trainer.</summary>
    public bool BuiltInTrainer { get; init; }

    /// <summary>The most trials at once; null: with GPUs or CPUs per trial as many as the free ones allow, else 1.</summary>
    public int? MaxConcurrent { get; init; }

    /// <summary>GPUs per trial (exclusive); 0: CPU.</summary>
    public int GpusPerTrial { get; init; }

    /// <summary>CPU cores per trial (exclusive among the sweep's trials and pinned services); 0: unpinned.</summary>
    public int CpusPerTrial { get; init; }

    /// <summary>The metric.</summary>
    public string Metric { get; init; } = "val_loss";

    /// <summary><see cref="SweepGoals"/>.</summary>
    public string Goal { get; init; } = SweepGoals.Minimize;

    /// <summary><c>none</c> or <c>median</c>.</summary>
    public string EarlyStop { get; init; } = "none";

    /// <summary>Median rule: completed trials before it judges.</summary>
    public int EarlyStopMinTrials { get; init; } = 3;

    /// <summary>Median rule: epochs before it judges a trial.</summary>
    public int EarlyStopWarmupEpochs { get; init; } = 1;
}

/// <summary>
/// Sweeps from the caller's side (the cmdlets): make a plan once, start its controller as a service, read where it
/// stands, wait for it, stop it. Everything goes through files and <see cref="ProcessManager"/>.
/// </summary>
public sealed class TrainingSweeps
{
    private readonly StateDirectory _state;
    private readonly ProcessManager _manager;
    private readonly StatusStore _store;
    private readonly TimeProvider _time;

    /// <summary>Creates the sweeps of <paramref name="manager"/>'s state directory.</summary>
    public TrainingSweeps(ProcessManager manager, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        _manager = manager;
        _state = manager.State;
        _time = time ?? TimeProvider.System;
        _store = new StatusStore(new StatusStoreOptions { TimeProvider = _time });
    }

    /// <summary>
    /// The plan of <paramref name="request"/>, written to <c>sweeps/&lt;name&gt;/plan.json</c> unless that sweep exists:
    /// then the existing plan when it is the same (a second start resumes it), else an error.
    /// </summary>
    /// <exception cref="ConfigurationException">The request is invalid, or a different sweep of that name exists.</exception>
    public SweepPlan CreatePlan(SweepRequest request)
    {
        var plan = BuildPlan(request, _time.GetUtcNow());
        var path = _state.SweepPlanPath(plan.Name);
        if (_store.Read<SweepPlan>(path) is { Document: { } existing })
        {
            return existing.Fingerprint == plan.Fingerprint
                ? existing
                : throw new ConfigurationException(new ConfigurationProblem(path, null, "Name",
                    $"A sweep named '{plan.Name}' with other settings exists in '{_state.Root}' (its plan is {path}). Give this one another -Name, or Remove-TrainingSweep '{plan.Name}' first."))
                { Service = SweepPlan.ControllerName(plan.Name) };
        }

        foreach (var trial in plan.Trials.Where(t => _manager.Exists(t.Service)))
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "Name",
                $"A service named '{trial.Service}' exists already, and sweep '{plan.Name}' would name a trial so. Give the sweep another -Name, or remove that service's folder."))
            { Service = trial.Service };
        }

        _state.EnsureSweepDirectory(plan.Name);
        _store.Write(path, plan);
        return _store.Read<SweepPlan>(path).Document ?? plan;
    }

    /// <summary>Builds (and validates) the plan of a request without writing it.</summary>
    /// <exception cref="ConfigurationException">A setting is invalid; the problem names it.</exception>
    public static SweepPlan BuildPlan(SweepRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ServiceName.IsValid(request.Name) || request.Name.Length > SweepPlan.MaxNameLength)
        {
            throw Problem("Name", $"'{request.Name}' is not a sweep name: use 1 to {SweepPlan.MaxNameLength} characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (its trials are named '<name>-t001' …).");
        }

        if (request.Goal is not (SweepGoals.Minimize or SweepGoals.Maximize))
        {
            throw Problem("Goal", $"'{request.Goal}' is not a goal: use Minimize or Maximize.");
        }

        if (request.EarlyStop is not ("none" or "median"))
        {
            throw Problem("EarlyStop", $"'{request.EarlyStop}' is not an early-stopping rule: use Median, or leave -EarlyStop out.");
        }

        if (string.IsNullOrWhiteSpace(request.Metric) || !SweepSearch.IsValidName(request.Metric))
        {
            throw Problem("Metric", $"'{request.Metric}' is not a metric name: give one of metrics.jsonl's (val_loss, train_loss, val_accuracy, or a scalar's name).");
        }

        if (request.CpusPerTrial is < 0 or > 4096)
        {
            throw Problem("CpusPerTrial", $"is out of range ({request.CpusPerTrial}): give 0 (trials unpinned) to 4096 cores per trial.");
        }

        if (request.GpusPerTrial is < 0 or > 64 || request.MaxConcurrent is < 1 or > SweepSearch.MaxTrials || request.EarlyStopMinTrials < 1 || request.EarlyStopWarmupEpochs < 0)
        {
            throw Problem(request.GpusPerTrial is < 0 or > 64 ? "GpusPerTrial" : request.MaxConcurrent is < 1 or > SweepSearch.MaxTrials ? "MaxConcurrent" : "EarlyStop",
                "is out of range: -GpusPerTrial 0-64, -MaxConcurrent 1-999, -EarlyStopMinTrials 1 or more, -EarlyStopWarmupEpochs 0 or more.");
        }

        if (request.Trial.Kind != ServiceKind.Training)
        {
            throw Problem("Trial", "a sweep's trials are training services.");
        }

        var settings = SweepSearch.Expand(request.Parameters, request.Method, request.Count, request.Seed);
        var trials = settings.Select((p, i) => new SweepTrialPlan(i + 1, SweepPlan.TrialName(request.Name, i + 1), p)).ToList();
        var plan = new SweepPlan
        {
            Name = request.Name,
            Created = now,
            Method = request.Method,
            Seed = request.Method == SweepMethods.Random ? request.Seed ?? 0 : null,
            Count = request.Count,
            Parameters = request.Parameters,
            Trials = trials,
            Trial = request.Trial with { Name = "", RunId = null, Experiment = request.Name },
            BuiltInTrainer = request.BuiltInTrainer,
            // With GPUs or cores per trial the free ones bound how many run at once (N GPUs, N trials); else one at a time unless asked.
            MaxConcurrent = request.MaxConcurrent ?? (request.GpusPerTrial > 0 || request.CpusPerTrial > 0 ? SweepSearch.MaxTrials : 1),
            CpusPerTrial = request.CpusPerTrial,
            GpusPerTrial = request.GpusPerTrial,
            Metric = request.Metric,
            Goal = request.Goal,
            EarlyStop = request.EarlyStop,
            EarlyStopMinTrials = request.EarlyStopMinTrials,
            EarlyStopWarmupEpochs = request.EarlyStopWarmupEpochs,
        };
        // Each trial's spec must be valid before anything is written (a bad -ArgumentList fails here, not per trial).
        SweepTrials.Spec(plan, trials[0], "check", request.GpusPerTrial > 0 ? Enumerable.Range(0, request.GpusPerTrial).ToList() : []).Validate();
        return plan with { Fingerprint = Fingerprint(plan) };
    }

    /// <summary>A digest of everything in a plan but its time and envelope.</summary>
    public static string Fingerprint(SweepPlan plan)
    {
        var json = JsonSerializer.Serialize(plan with { Created = default, Fingerprint = "", Schema = "", Seq = 0, WrittenAt = default, Writer = null }, StatusJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..16];
    }

    /// <summary>The controller's spec: <c>stability-sweep --state-dir DIR --sweep NAME</c>, kind sweep, with the hosts the caller found.</summary>
    public ServiceSpec ControllerSpec(SweepPlan plan)
    {
        var (program, leading) = HostLocator.CommandFor(HostLocator.Find("sweep"));
        return ServiceSpec.ForKind(ServiceKind.Sweep, SweepPlan.ControllerName(plan.Name), program, [.. leading, "--state-dir", _state.Root, "--sweep", plan.Name]) with
        {
            // The controller finds the supervisor (and its trials the trainer) where this session found them.
            Environment = new Dictionary<string, string> { [HostLocator.HostsDirectoryVariable] = string.Join(Path.PathSeparator, HostLocator.SearchDirectories()) },
            StopTimeoutMs = 5000,
        };
    }

    /// <summary>Starts (or, for a sweep that was stopped or whose controller is gone, resumes) the sweep's controller.</summary>
    /// <exception cref="ServiceAlreadyRunningException">Its controller runs already.</exception>
    /// <exception cref="ConfigurationException">The sweep has completed: it has nothing left to run.</exception>
    public async Task<SweepInfo> StartAsync(SweepPlan plan, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (ReadProgress(_state, _store, plan.Name) is { State: SweepStates.Completed })
        {
            throw new ConfigurationException(new ConfigurationProblem(_state.SweepProgressPath(plan.Name), null, "Name",
                $"The sweep '{plan.Name}' has completed; Get-TrainingSweep '{plan.Name}' shows its results. Give a new sweep another -Name."))
            { Service = SweepPlan.ControllerName(plan.Name) };
        }

        // Recorded running before the controller starts, so that a wait right after this start sees the sweep going on.
        if (ReadProgress(_state, _store, plan.Name) is { State: SweepStates.Stopped })
        {
            _store.Update<SweepProgress>(_state.SweepProgressPath(plan.Name), current => current is null ? FreshProgress(plan) : Resumed(current));
        }

        await _manager.StartAsync(ControllerSpec(plan), progress, cancellationToken).ConfigureAwait(false);
        return Get(plan.Name);
    }

    /// <summary>Where the sweep stands: its plan, its progress and its controller.</summary>
    /// <exception cref="ConfigurationException">There is no such sweep, or its plan cannot be read.</exception>
    public SweepInfo Get(string name)
    {
        var plan = ReadPlan(_state, _store, name);
        var progress = ReadProgress(_state, _store, name) ?? FreshProgress(plan);
        var controller = _manager.Exists(SweepPlan.ControllerName(name)) ? _manager.GetStatus(SweepPlan.ControllerName(name)) : null;
        return SweepInfo.From(_state.Root, plan, progress, controller);
    }

    /// <summary>Every sweep here.</summary>
    public IReadOnlyList<SweepInfo> List() => _state.ListSweeps().Select(Get).ToList();

    /// <summary>
    /// Stops a sweep: its controller first (so nothing new starts), then every trial still running, gracefully (each
    /// checkpoints); the trials are recorded <c>stopped</c>. <c>Start-TrainingSweep</c> with the same plan goes on
    /// with the trials not yet done.
    /// </summary>
    public async Task<SweepInfo> StopAsync(string name, TimeSpan? timeout = null, bool force = false, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var plan = ReadPlan(_state, _store, name);
        var controller = SweepPlan.ControllerName(name);
        if (_manager.Exists(controller))
        {
            await _manager.StopAsync(controller, timeout, force, progress, cancellationToken).ConfigureAwait(false);
        }

        var running = plan.Trials.Select(t => t.Service).Where(s => _manager.Exists(s) && !Liveness.IsFinal(_manager.GetStatus(s).State)).ToList();
        if (running.Count > 0)
        {
            progress?.Report($"Stopping {running.Count} trial(s) of sweep '{name}': {string.Join(", ", running)}.");
            var outcomes = await _manager.StopManyAsync(running, timeout, force, progress, cancellationToken).ConfigureAwait(false);
            if (outcomes.FirstOrDefault(o => o.Error is not null) is { Error: { } error })
            {
                throw error;
            }
        }

        var now = _time.GetUtcNow();
        _store.Update<SweepProgress>(_state.SweepProgressPath(name), current =>
        {
            var state = current ?? FreshProgress(plan);
            return state.State == SweepStates.Completed ? state : state with
            {
                State = SweepStates.Stopped,
                Ended = now,
                Trials = state.Trials.Select(t => TrialStates.IsActive(t.State)
                    ? t with { State = t.State == TrialStates.Pruning ? TrialStates.Pruned : TrialStates.Stopped, Ended = now, Message = t.Message ?? "Stopped with the sweep (Stop-TrainingSweep)." }
                    : t).ToList(),
            };
        });
        return Get(name);
    }

    /// <summary>Waits until the sweep has completed or was stopped and its controller has exited, or its controller ended without finishing it (fatal).</summary>
    /// <exception cref="TimeoutException">It did not end within <paramref name="timeout"/>.</exception>
    public async Task<SweepInfo> WaitAsync(string name, TimeSpan? timeout, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var deadline = timeout is { } bound ? _time.GetUtcNow() + bound : DateTimeOffset.MaxValue;
        string? last = null;
        while (true)
        {
            var info = Get(name);
            if (info.Summary != last)
            {
                progress?.Report($"Sweep '{name}' {info.Summary}.");
                last = info.Summary;
            }

            // Ended once the controller has exited too (it records the end a moment before its exit), so that nothing of
            // the sweep runs when this returns; a controller that gave up (fatal) ends the wait as it is.
            var controllerDone = info.ControllerState is null or ServiceState.Unknown || Liveness.IsFinal(info.ControllerState.Value);
            if ((info.State is SweepStates.Completed or SweepStates.Stopped && controllerDone) || info.ControllerState is ServiceState.Fatal)
            {
                return info;
            }

            if (_time.GetUtcNow() >= deadline)
            {
                throw new TimeoutException($"The sweep '{name}' did not end within {timeout!.Value.TotalSeconds:0.#} s ({info.Summary}). Get-TrainingSweep '{name}' shows its trials; wait longer with -Timeout.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes a sweep's plan and progress (its runs and trial services stay, like any run's). Refused while its controller or a trial runs.</summary>
    public void Remove(string name)
    {
        var plan = ReadPlan(_state, _store, name);
        var live = new[] { SweepPlan.ControllerName(name) }.Concat(plan.Trials.Select(t => t.Service))
            .Where(s => _manager.Exists(s) && !Liveness.IsFinal(_manager.GetStatus(s).State)).ToList();
        if (live.Count > 0)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "Name",
                $"The sweep '{name}' still runs ({string.Join(", ", live)}). Stop-TrainingSweep '{name}' first.")) { Service = live[0] };
        }

        foreach (var path in new[] { _state.SweepPlanPath(name), _state.SweepProgressPath(name) })
        {
            File.Delete(path);
        }

        Directory.Delete(_state.SweepDirectory(name), recursive: true);
    }

    /// <summary>Reads a sweep's plan.</summary>
    /// <exception cref="ConfigurationException">There is none, or it cannot be read.</exception>
    public static SweepPlan ReadPlan(StateDirectory state, StatusStore store, string name)
    {
        var path = state.SweepPlanPath(name);
        var read = store.Read<SweepPlan>(path);
        return read.Document ?? throw new ConfigurationException(new ConfigurationProblem(path, null, "Name",
            read.State == ReadState.Missing
                ? $"There is no sweep '{name}' in '{state.Root}'. Get-TrainingSweep lists the sweeps; Start-TrainingSweep makes one."
                : $"The plan of sweep '{name}' ({path}) cannot be read: {read.Error}"))
        { Service = SweepPlan.ControllerName(name) };
    }

    /// <summary>Reads a sweep's progress; null before its controller first wrote it.</summary>
    public static SweepProgress? ReadProgress(StateDirectory state, StatusStore store, string name) =>
        store.Read<SweepProgress>(state.SweepProgressPath(name)).Document;

    /// <summary>
    /// <paramref name="progress"/> going on: running, and when it was stopped, its stopped trials pending again on their
    /// own runs (so each resumes from its checkpoint) and placed in the plan's order like the rest.
    /// </summary>
    public static SweepProgress Resumed(SweepProgress progress) => progress with
    {
        State = SweepStates.Running,
        Ended = null,
        Trials = progress.State != SweepStates.Stopped ? progress.Trials
            : progress.Trials.Select(t => t.State == TrialStates.Stopped ? t with { State = TrialStates.Pending, Ended = null, Message = null } : t).ToList(),
    };

    /// <summary>The progress of a sweep nothing has run of yet: every trial pending.</summary>
    public static SweepProgress FreshProgress(SweepPlan plan) => new()
    {
        Name = plan.Name,
        State = SweepStates.Running,
        Trials = plan.Trials.Select(t => new SweepTrial { Index = t.Index, Service = t.Service }).ToList(),
    };

    private static ConfigurationException Problem(string key, string message) => new(new ConfigurationProblem(null, null, key, message));
}
