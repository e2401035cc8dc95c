// Overview: the controller is a loop over files. Each pass observes every active trial (its service's status and the
// new lines of its run's metrics.jsonl), applies the median rule, starts trials while places are free, and writes
// progress.json when anything changed. What makes a kill harmless is the order: a trial is recorded `starting`, with
// the run id it will use, before its service is started, and a trial's service has a name of its own, which a start
// refuses while a live supervisor runs it. A controller that finds a `starting` trial therefore either sees its
// service (running, or ended with that run) and adopts it, or sees nothing of that run and starts it — once.
using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Sweeps;

/// <summary>
/// Runs one sweep to its end: the work of the <c>stability-sweep</c> service. Trials run as services of their own,
/// each under its own supervisor, so the controller can die at any moment without touching them; the next controller
/// takes up where <c>progress.json</c> says.
/// </summary>
public sealed class SweepController
{
    private readonly StateDirectory _state;
    private readonly ProcessManager _manager;
    private readonly Func<ResourceManager> _resources;
    private readonly StatusStore _store;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly JsonLinesLog<StabilityEvent> _events;
    private readonly Dictionary<string, Curve> _curves = new(StringComparer.Ordinal);
    private readonly List<Task> _stops = [];

    /// <param name="state">The state directory.</param>
    /// <param name="sweep">The sweep's name (its plan must exist).</param>
    /// <param name="manager">Starts and stops the trials' services.</param>
    /// <param name="resources">The GPUs (made when first needed: a CPU sweep never probes).</param>
    /// <param name="time">The clock.</param>
    /// <param name="log">Receives a line for each decision (the controller's stdout, captured by its supervisor).</param>
    public SweepController(StateDirectory state, string sweep, ProcessManager manager, Func<ResourceManager> resources, TimeProvider? time = null, Action<string>? log = null)
    {
        _state = state;
        Sweep = StateDirectory.ValidateServiceName(sweep);
        _manager = manager;
        _resources = resources;
        _time = time ?? TimeProvider.System;
        _store = new StatusStore(new StatusStoreOptions { TimeProvider = _time });
        _log = log ?? (_ => { });
        _events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath);
    }

    /// <summary>The sweep.</summary>
    public string Sweep { get; }

    /// <summary>The time between passes. Default 100 ms: a finished trial's place is taken within it.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs the sweep until every trial has ended (returns true) or <paramref name="cancellationToken"/> ends it (false; the trials keep running).</summary>
    /// <exception cref="ConfigurationException">The sweep has no readable plan.</exception>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        var plan = TrainingSweeps.ReadPlan(_state, _store, Sweep);
        var progress = TrainingSweeps.ReadProgress(_state, _store, Sweep) ?? TrainingSweeps.FreshProgress(plan);
        progress = TrainingSweeps.Resumed(progress) with { ControllerStarts = progress.ControllerStarts + 1 };
        Save(progress);
        var adopted = progress.Trials.Count(t => TrialStates.IsActive(t.State));
        Event("sweep_controller_started", EventSeverity.Info,
            $"Sweep '{Sweep}' controller started (life {progress.ControllerStarts}): {progress.Trials.Count(t => TrialStates.IsFinal(t.State))} of {progress.Trials.Count} trials done, {adopted} taken over as they are.",
            new Dictionary<string, string> { ["adopted"] = adopted.ToString(System.Globalization.CultureInfo.InvariantCulture), ["life"] = progress.ControllerStarts.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        while (!cancellationToken.IsCancellationRequested)
        {
            var before = progress;
            progress = Observe(plan, progress);
            progress = Prune(plan, progress);
            progress = await LaunchAsync(plan, progress, cancellationToken).ConfigureAwait(false);
            if (progress.Trials.All(t => TrialStates.IsFinal(t.State)))
            {
                progress = progress with { State = SweepStates.Completed, Ended = _time.GetUtcNow(), BestTrial = Best(plan, progress.Trials) };
                Save(progress);
                var best = progress.BestTrial is { } b ? progress.Trials[b - 1] : null;
                Event("sweep_completed", EventSeverity.Info,
                    $"Sweep '{Sweep}' completed: {Summary(progress)}." + (best is null ? "" : $" Best: trial {best.Index} ({best.Service}, {plan.Metric} {best.Value:G6})."));
                await Task.WhenAll(_stops).ConfigureAwait(false);
                return true;
            }

            if (!ReferenceEquals(before, progress))
            {
                Save(progress with { BestTrial = Best(plan, progress.Trials) });
            }

            try
            {
                await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return false;
    }

    /// <summary>Brings every active trial's state up to date with its service and its run's metrics.</summary>
    private SweepProgress Observe(SweepPlan plan, SweepProgress progress)
    {
        var trials = progress.Trials.ToArray();
        var changed = false;
        for (var i = 0; i < trials.Length; i++)
        {
            var trial = trials[i];
            if (!TrialStates.IsActive(trial.State) || trial.RunId is null)
            {
                continue;
            }

            var curve = ReadCurve(plan, trial);
            var info = StatusOf(trial.Service);
            var ours = info is not null && info.RunId == trial.RunId;
            var updated = trial with
            {
                Epochs = curve.Values.Count == 0 ? trial.Epochs : curve.Values.Keys.Max(),
                Value = MedianRule.BestUpTo(curve.Values, int.MaxValue, plan.Goal) ?? trial.Value,
            };
            if (ours)
            {
                updated = info!.State switch
                {
                    ServiceState.Completed => Ended(updated, TrialStates.Completed, null),
                    ServiceState.Fatal => Ended(updated, TrialStates.Failed, info.ErrorMessage ?? $"Its service ended fatal (exit code {info.LastExitCode})."),
                    ServiceState.Stopped => Ended(updated, trial.State == TrialStates.Pruning ? TrialStates.Pruned : TrialStates.Stopped, trial.Message ?? "Its service was stopped."),
                    ServiceState.Running or ServiceState.Backoff or ServiceState.Stopping when trial.State == TrialStates.Starting => updated with { State = TrialStates.Running },
                    _ => updated,
                };
            }

            if (updated != trial)
            {
                trials[i] = updated;
                changed = true;
                if (TrialStates.IsFinal(updated.State))
                {
                    _log($"trial {updated.Index} ({updated.Service}) {updated.State}: {plan.Metric} {updated.Value?.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) ?? "none"} after {updated.Epochs} epoch(s)");
                    Event("sweep_trial_ended", updated.State == TrialStates.Failed ? EventSeverity.Warning : EventSeverity.Info,
                        $"Sweep '{Sweep}' trial {updated.Index} ({updated.Service}, run {updated.RunId}) {updated.State}" + (updated.Message is null ? "." : $": {updated.Message}"),
                        new Dictionary<string, string> { ["trial"] = updated.Service, ["state"] = updated.State, ["run_id"] = updated.RunId ?? "" });
                }
            }
        }

        return changed ? progress with { Trials = trials } : progress;
    }

    private SweepTrial Ended(SweepTrial trial, string state, string? message) =>
        trial with { State = state, Ended = _time.GetUtcNow(), Message = state == TrialStates.Completed ? null : message };

    /// <summary>The median rule over the running trials: a trial to stop is recorded <c>pruning</c> and its stop begun.</summary>
    private SweepProgress Prune(SweepPlan plan, SweepProgress progress)
    {
        if (plan.EarlyStop != "median")
        {
            return progress;
        }

        var completed = progress.Trials.Where(t => t.State == TrialStates.Completed && _curves.ContainsKey(t.Service))
            .Select(t => _curves[t.Service].Values).ToList();
        var trials = progress.Trials.ToArray();
        var changed = false;
        for (var i = 0; i < trials.Length; i++)
        {
            var trial = trials[i];
            if (trial.State == TrialStates.Pruning && StatusOf(trial.Service) is { } info && info.RunId == trial.RunId && !Liveness.IsFinal(info.State)
                && !_stops.Any(s => !s.IsCompleted))
            {
                // A controller that died while a pruned trial was stopping: stop it again (stopping a stopping service is harmless).
                _stops.Add(StopAsync(trial.Service));
                continue;
            }

            if (trial.State != TrialStates.Running || !_curves.TryGetValue(trial.Service, out var curve)
                || MedianRule.ShouldPrune(curve.Values, completed, plan.Goal, plan.EarlyStopMinTrials, plan.EarlyStopWarmupEpochs) is not { } median)
            {
                continue;
            }

            var epoch = curve.Values.Keys.Max();
            var own = MedianRule.BestUpTo(curve.Values, epoch, plan.Goal);
            var message = $"the median rule: its best {plan.Metric} by epoch {epoch}, {own?.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, is worse than the median of {completed.Count} completed trials, {median.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}";
            trials[i] = trial with { State = TrialStates.Pruning, PrunedAtEpoch = epoch, Message = $"Stopped by {message}." };
            changed = true;
            _log($"trial {trial.Index} ({trial.Service}) pruned at epoch {epoch}: {message}");
            Event("sweep_trial_pruned", EventSeverity.Info, $"Sweep '{Sweep}' trial {trial.Index} ({trial.Service}) is stopped by {message}.",
                new Dictionary<string, string> { ["trial"] = trial.Service, ["epoch"] = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            _stops.Add(StopAsync(trial.Service));
        }

        _stops.RemoveAll(t => t.IsCompleted);
        return changed ? progress with { Trials = trials } : progress;
    }

    private Task StopAsync(string service) => Task.Run(async () =>
    {
        try
        {
            await _manager.StopAsync(service).ConfigureAwait(false);
        }
        catch (StabilityException ex)
        {
            _log($"could not stop {service}: {ex.Message}");
        }
    });

    /// <summary>Starts trials while places (and, with GPUs per trial, devices) are free: recorded first, then started.</summary>
    private async Task<SweepProgress> LaunchAsync(SweepPlan plan, SweepProgress progress, CancellationToken cancellationToken)
    {
        var trials = progress.Trials.ToArray();
        var changed = false;
        var tried = new HashSet<int>();
        while (!cancellationToken.IsCancellationRequested)
        {
            // A trial that holds a place but whose service shows nothing of its run is one a dead controller recorded
            // but never started, or whose supervisor is gone: it comes first, in the place it holds. Then pending
            // trials, in the plan's order, while places are free.
            var index = Array.FindIndex(trials, t => t.State is TrialStates.Starting or TrialStates.Running && !tried.Contains(t.Index) && NeedsLaunch(t));
            var active = trials.Count(t => TrialStates.IsActive(t.State));
            if (index < 0)
            {
                if (active >= plan.MaxConcurrent)
                {
                    break;
                }

                index = Array.FindIndex(trials, t => t.State == TrialStates.Pending);
                if (index < 0)
                {
                    break;
                }
            }

            var trial = trials[index];
            tried.Add(trial.Index);
            IReadOnlyList<int> gpus = trial.State == TrialStates.Pending ? [] : trial.Gpus;
            if (plan.GpusPerTrial > 0 && plan.Trial.Slurm is null && gpus.Count == 0)
            {
                var free = _resources().FreeDevices();
                if (free.Count < plan.GpusPerTrial)
                {
                    break;
                }

                gpus = free.Take(plan.GpusPerTrial).ToList();
            }

            IReadOnlyList<int> cpus = trial.State == TrialStates.Pending ? [] : trial.Cpus;
            if (plan.CpusPerTrial > 0 && plan.Trial.Slurm is null && cpus.Count == 0)
            {
                // The sweep's own active trials hold their cores even before their supervisors have pinned them.
                var own = trials.Where(t => TrialStates.IsActive(t.State)).SelectMany(t => t.Cpus).ToHashSet();
                var free = _resources().FreeCores().Where(c => !own.Contains(c)).ToList();
                if (free.Count < plan.CpusPerTrial)
                {
                    break;
                }

                cpus = free.Take(plan.CpusPerTrial).ToList();
            }

            var now = _time.GetUtcNow();
            trial = trial with
            {
                State = TrialStates.Starting,
                RunId = trial.RunId ?? $"{trial.Service}-{StateDirectory.NewRunId(now)}",
                Gpus = gpus,
                Cpus = cpus,
                Started = trial.Started ?? now,
                Launches = trial.Launches + 1,
            };
            trials[index] = trial;
            changed = true;
            // Recorded before the start: a controller killed from here on finds the trial and its run.
            Save(progress with { Trials = trials });
            var clock = Stopwatch.StartNew();
            try
            {
                if (cpus.Count > 0)
                {
                    // Its supervisor pins the trial's whole tree to these cores from its first limits pass after the start on (within its heartbeat interval).
                    _resources().SetResourceLimit(trial.Service, cpuAffinity: cpus);
                }

                var spec = SweepTrials.Spec(plan, plan.Trials[trial.Index - 1], trial.RunId!, gpus);
                await _manager.StartAsync(spec, wait: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                _log($"trial {trial.Index} ({trial.Service}) started in {clock.ElapsedMilliseconds} ms: run {trial.RunId}{(gpus.Count > 0 ? $", GPUs {string.Join(",", gpus)}" : "")}{(cpus.Count > 0 ? $", cores {string.Join(",", cpus)}" : "")}");
                Event("sweep_trial_started", EventSeverity.Info,
                    $"Sweep '{Sweep}' trial {trial.Index} ({trial.Service}) started on run {trial.RunId}" + (gpus.Count > 0 ? $" with GPUs {string.Join(",", gpus)}." : "."),
                    new Dictionary<string, string> { ["trial"] = trial.Service, ["run_id"] = trial.RunId!, ["gpus"] = string.Join(",", gpus), ["launch"] = trial.Launches.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            catch (ServiceAlreadyRunningException)
            {
                // Its supervisor is up (a start that raced a dead controller's): the next pass adopts it.
                trials[index] = trial with { Launches = trial.Launches - 1 };
            }
            catch (ResourceConflictException ex)
            {
                // Another service took the GPUs between the look and the claim: wait for the next free ones.
                _log($"trial {trial.Index} waits for GPUs: {ex.Message}");
                trials[index] = trial with { State = TrialStates.Pending, Gpus = [], Cpus = [], Launches = trial.Launches - 1 };
                break;
            }
            catch (Exception ex) when (ex is StabilityException or ArgumentException)
            {
                _log($"trial {trial.Index} ({trial.Service}) could not start: {ex.Message}");
                trials[index] = Ended(trial, TrialStates.Failed, $"It could not start: {ex.Message}");
                Event("sweep_trial_ended", EventSeverity.Warning, $"Sweep '{Sweep}' trial {trial.Index} ({trial.Service}) could not start: {ex.Message}",
                    new Dictionary<string, string> { ["trial"] = trial.Service, ["state"] = TrialStates.Failed });
            }
        }

        return changed ? progress with { Trials = trials } : progress;
    }

    /// <summary>True when nothing of the trial's run is running or recorded as ended under its service: it must be started.</summary>
    private bool NeedsLaunch(SweepTrial trial)
    {
        var info = StatusOf(trial.Service);
        if (info is null || info.RunId != trial.RunId)
        {
            return true;
        }

        // Its supervisor died (status unknown): a start ends what it left and resumes the run from its checkpoint.
        return info.State == ServiceState.Unknown;
    }

    private ServiceInfo? StatusOf(string service)
    {
        try
        {
            return _manager.Exists(service) ? _manager.GetStatus(service) : null;
        }
        catch (ServiceNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The trial's curve (epoch → metric), read on from where the last pass stopped.</summary>
    private Curve ReadCurve(SweepPlan plan, SweepTrial trial)
    {
        if (!_curves.TryGetValue(trial.Service, out var curve) || curve.RunId != trial.RunId)
        {
            _curves[trial.Service] = curve = new Curve(trial.RunId!);
        }

        var log = new JsonLinesLog<MetricRecord>(_state.Run(trial.RunId!).MetricsLogPath);
        try
        {
            var length = File.Exists(log.Path) ? new FileInfo(log.Path).Length : 0;
            var read = curve.Offset == 0 || length < curve.Offset ? log.ReadAll() : log.ReadFrom(curve.Offset);
            curve.Offset = read.EndOffset;
            foreach (var record in read.Records.Where(r => r.Kind == MetricKind.Epoch))
            {
                if (SweepTrials.Value(record, plan.Metric) is { } value)
                {
                    curve.Values[record.Epoch] = value;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StabilityException)
        {
            _log($"could not read the metrics of {trial.Service}: {ex.Message}");
        }

        return curve;
    }

    /// <summary>The index of the best trial that has a value (completed ones first; then any).</summary>
    internal static int? Best(SweepPlan plan, IReadOnlyList<SweepTrial> trials)
    {
        var candidates = trials.Where(t => t.State == TrialStates.Completed && t.Value is { } v && !double.IsNaN(v)).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var best = plan.Goal == SweepGoals.Maximize ? candidates.MaxBy(t => t.Value) : candidates.MinBy(t => t.Value);
        return best?.Index;
    }

    internal static string Summary(SweepProgress progress) =>
        string.Join(", ", progress.Trials.GroupBy(t => t.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));

    private void Save(SweepProgress progress) => _store.Write(_state.SweepProgressPath(Sweep), progress);

    private void Event(string type, EventSeverity severity, string message, IReadOnlyDictionary<string, string>? data = null) =>
        _events.Append(new StabilityEvent
        {
            Time = _time.GetUtcNow(), Service = SweepPlan.ControllerName(Sweep), Type = type, Severity = severity, Message = message,
            Pid = Environment.ProcessId, User = Environment.UserName, Host = Environment.MachineName, Data = data,
        });

    private sealed class Curve(string runId)
    {
        public string RunId { get; } = runId;

        public long Offset { get; set; }

        public Dictionary<int, double> Values { get; } = [];
    }
}
