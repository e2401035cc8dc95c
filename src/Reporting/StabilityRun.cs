using System.Globalization;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Reporting;

/// <summary>
/// One training run of your own loop under the status-file contract: what the built-in trainer has (heartbeat, graceful
/// stop, resumable checkpoints, a pause on a full disk, the run's record and metrics for the cmdlets and the dashboard)
/// in a few calls. The C# face of Python's <c>stabilitytools.run()</c>.
/// </summary>
/// <remarks>
/// <para><see cref="Open"/> resolves the run (the supervisor's <c>STABILITY_RUN_ID</c>, else the options), takes its lock
/// (<c>run.lock</c>: one trainer per run), records the attempt in <c>run.json</c>, reads what <c>metrics.jsonl</c>
/// already holds (so a resumed run records each epoch once), turns SIGTERM/SIGINT into <see cref="StopToken"/>, and
/// starts the heartbeat thread. Disposing ends the run (<c>completed</c>, or <c>stopped</c> when a stop cut it short);
/// <see cref="Execute"/> also records a failure and returns the exit code a supervisor expects.</para>
/// <para>Exactly once: <see cref="Log"/> an epoch, then <see cref="Checkpoint"/> it. A kill between the two retrains the
/// epoch and its record stays the first one (a second log of it writes nothing).</para>
/// <para>Thread use: the calls are meant for the training thread; the heartbeat thread only writes what they hand over.
/// Every file goes through the engine's store (owner-only, no links followed, atomic under lock).</para>
/// </remarks>
public sealed partial class StabilityRun : IDisposable
{
    /// <summary>The exit code of a run refused for its input (a changed parameter on resume): EX_CONFIG, which a
    /// supervisor does not restart.</summary>
    public const int ConfigurationExitCode = 78;

    /// <summary>The variable in which a supervisor passes the service's name.</summary>
    public const string ServiceVariable = TrainerEvents.ServiceVariable;

    private const string StreamKind = "stream";

    private readonly StabilityRunOptions _options;
    private readonly StopSignals? _signals;
    private readonly CancellationTokenSource _stop;
    private readonly RunFolder _folder;
    private readonly SharedDataManager _shared;
    private readonly StatusPublisher _publisher;
    private readonly CheckpointStore _checkpoints;
    private readonly DiskFullPause _disk;
    private readonly TrainerEvents _events;
    private readonly HashSet<int> _logged = [];
    private readonly Dictionary<string, double> _final = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _best = new(StringComparer.Ordinal);
    private readonly Throughput _throughput = new(0);
    private readonly bool _wasCompleted;
    private ProgressSnapshot _snapshot;
    private int _lastEpoch;
    private int _bestEpoch;
    private string? _outcome;

    private StabilityRun(StabilityRunOptions options, StopSignals? signals, CancellationTokenSource stop, StateDirectory state, RunFolder folder, string service)
    {
        (_options, _signals, _stop, _folder) = (options, signals, stop, folder);
        _events = new TrainerEvents(service);
        Service = service;
        _shared = new SharedDataManager(state,
            new StatusStoreOptions { Fsync = options.Fsync, LockTimeout = options.LockTimeout },
            new JsonLinesOptions { LockTimeout = options.LockTimeout }, folder.Paths);
        _wasCompleted = folder.Info.State == RunStates.Completed;
        foreach (var record in _shared.Metrics.ReadAll().Records.Where(r => r.RunId == RunId && r.Kind == MetricKind.Epoch))
        {
            Remember(record);
        }

        _checkpoints = new CheckpointStore(folder.Paths.Directory, Math.Max(1, options.KeepCheckpoints));
        _checkpoints.SweepTemporaries();
        _publisher = new StatusPublisher(_shared, RunId, options.Device, options.HeartbeatInterval, enabled: true);
        _disk = new DiskFullPause(_publisher, stop.Token, _events);
        var last = _final;
        _snapshot = new ProgressSnapshot
        {
            State = TrainerState.Running, Epoch = _lastEpoch, TotalEpochs = options.TotalEpochs,
            TotalSteps = (long)options.TotalEpochs * options.StepsPerEpoch, Step = (long)last.GetValueOrDefault("step"),
            Loss = last.GetValueOrDefault("train_loss"), Accuracy = last.GetValueOrDefault("val_accuracy", last.GetValueOrDefault("train_accuracy")),
            ValLoss = last.TryGetValue("val_loss", out var valLoss) ? valLoss : null, LastUpdate = DateTimeOffset.UtcNow,
        };
        _publisher.Report(_snapshot);
        Event("started", $"Run {RunId} started (attempt {folder.Info.Attempts}) by {folder.Info.Trainer}.",
            data: new Dictionary<string, string> { ["attempt"] = Invariant(folder.Info.Attempts), ["epochs_recorded"] = Invariant(_logged.Count) });
    }

    /// <summary>The run's id.</summary>
    public string RunId => _folder.RunId;

    /// <summary>The run's folder (<c>runs/&lt;run_id&gt;</c>).</summary>
    public string RunDirectory => _folder.Paths.Directory;

    /// <summary>The service the run's events are written as.</summary>
    public string Service { get; }

    /// <summary>This start's number (1 for the first; <c>run.json</c>'s <c>attempts</c>).</summary>
    public int Attempt => _folder.Info.Attempts;

    /// <summary>Epochs done when this life began: set by <see cref="Resume{T}"/> from the checkpoint it loads.</summary>
    public int StartEpoch { get; private set; }

    /// <summary>The highest epoch recorded in <c>metrics.jsonl</c> so far, by any life of the run.</summary>
    public int LastEpoch => _lastEpoch;

    /// <summary>Cancelled by SIGTERM or SIGINT (or <see cref="RequestStop"/>): finish the step, checkpoint, return.</summary>
    public CancellationToken StopToken => _stop.Token;

    /// <summary>True once a stop was requested.</summary>
    public bool StopRequested => _stop.IsCancellationRequested;

    /// <summary>How the run ended (<c>completed</c>, <c>stopped</c>, <c>failed</c>); null while it is open.</summary>
    public string? Outcome => _outcome;

    /// <summary>What the process should exit with after a stop: 128 + the signal (143 for SIGTERM, 130 for SIGINT).</summary>
    public int StopExitCode => _signals?.ExitCode ?? StopSignals.TerminatedExitCode;

    /// <summary>Opens the run; see the class remarks. Dispose it (or use <see cref="Execute"/>) to end it.</summary>
    /// <param name="options">Where and how; null for the defaults (everything from the supervisor's environment).</param>
    /// <exception cref="ConfigurationException">The run id is not valid.</exception>
    /// <exception cref="LockTimeoutException">Another trainer works on the run.</exception>
    /// <exception cref="StateDirectoryException">The state directory cannot be used.</exception>
    /// <exception cref="OperationCanceledException">Stopped (SIGTERM) while waiting for the run's lock.</exception>
    public static StabilityRun Open(StabilityRunOptions? options = null)
    {
        options ??= new StabilityRunOptions();
        if (options.TotalEpochs < 0 || options.StepsPerEpoch < 0)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "TotalEpochs", "TotalEpochs and StepsPerEpoch must not be negative (0: unknown)."));
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "HeartbeatInterval", $"HeartbeatInterval must be positive (was {options.HeartbeatInterval})."));
        }

        var environment = options.Environment ?? System.Environment.GetEnvironmentVariable;
        var state = StateDirectory.Open(options.StateDirectory, environment);
        var runId = RunFolder.ResolveRunId(options.RunId, environment);
        if (!StateDirectory.IsValidRunId(runId))
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "RunId",
                $"'{runId}' is not a valid run id: use 1 to 64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit."));
        }

        var service = environment(ServiceVariable) is { Length: > 0 } named ? named.Trim() : options.Service ?? BuiltInServices.TrainingName;
        var trainer = $"{options.Trainer ?? System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "dotnet"} (StabilityTools.Reporting {Version})";
        var signals = options.HandleSignals ? StopSignals.Install() : null;
        var stop = signals is null ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(signals.Token);
        RunFolder? folder = null;
        try
        {
            folder = RunFolder.Open(state, runId, options.RunLockTimeout, old => Opening(old, runId, service, trainer, options.Device), stop.Token);
            return new StabilityRun(options, signals, stop, state, folder, service);
        }
        catch
        {
            folder?.Dispose();
            stop.Dispose();
            signals?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the run, runs <paramref name="train"/> on it, ends it, and returns the exit code for the process: 0 when it
    /// completed, 143/130 when a SIGTERM/SIGINT stopped it (the stop's <see cref="OperationCanceledException"/> is the
    /// ordinary way out), 78 for a configuration error (a supervisor does not restart those), 1 when it failed (the error
    /// on stderr and in <c>run.json</c>; the supervisor restarts it and the run resumes).
    /// </summary>
    /// <param name="options">As for <see cref="Open"/>.</param>
    /// <param name="train">The training loop.</param>
    public static int Execute(StabilityRunOptions? options, Action<StabilityRun> train)
    {
        ArgumentNullException.ThrowIfNull(train);
        StabilityRun run;
        try
        {
            run = Open(options);
        }
        catch (Exception ex) when (ex is ConfigurationException or CorruptDocumentException)
        {
            Console.Error.WriteLine($"stabilitytools: {ex.Message}");
            return ConfigurationExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("stabilitytools: stopped while waiting for the run's lock.");
            return StopSignals.TerminatedExitCode;
        }

        using (run)
        {
            try
            {
                train(run);
                return run.End() == RunStates.Stopped ? run.StopExitCode : 0;
            }
            catch (OperationCanceledException) when (run.StopRequested)
            {
                // The ordinary way out of a stop; after the last epoch it is still a completion.
                return run.End() == RunStates.Stopped ? run.StopExitCode : 0;
            }
            catch (ConfigurationException ex)
            {
                run.End(RunStates.Failed, ex.Message);
                Console.Error.WriteLine($"stabilitytools: {ex.Message}");
                return ConfigurationExitCode;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                run.End(RunStates.Failed, $"{ex.GetType().Name}: {ex.Message}");
                Console.Error.WriteLine($"stabilitytools: training failed: {ex}");
                return 1;
            }
        }
    }

    /// <summary>The library's version.</summary>
    public static string Version => typeof(StabilityRun).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    // --- stopping ---------------------------------------------------------------------------------------------------

    /// <summary>Asks the run to stop at its next stop point, as SIGTERM does.</summary>
    public void RequestStop() => _stop.Cancel();

    /// <summary>A stop point of your own: throws <see cref="OperationCanceledException"/> once a stop was requested.</summary>
    public void ThrowIfStopRequested() => _stop.Token.ThrowIfCancellationRequested();

    // --- ending -----------------------------------------------------------------------------------------------------

    /// <summary>
    /// Ends the run: <paramref name="state"/> when given, else <c>completed</c> (or <c>stopped</c> when a stop was requested
    /// before the last epoch). Writes the status, <c>run.json</c> (state, ended, epochs, final and best figures, the error)
    /// and an event; stops the heartbeat. Safe to call twice (the first call wins); <see cref="Dispose"/> releases the run.
    /// </summary>
    /// <param name="state">A <see cref="RunStates"/> word: completed, stopped or failed.</param>
    /// <param name="error">Why it failed.</param>
    /// <returns>How the run ended.</returns>
    public string End(string? state = null, string? error = null)
    {
        if (_outcome is not null)
        {
            return _outcome;
        }

        state ??= StopRequested && !Finished ? RunStates.Stopped : RunStates.Completed;
        return Finish(state, error);
    }

    /// <summary>
    /// Ends the run if <see cref="End"/> was not called — <c>stopped</c> after a stop request, <c>completed</c> after its last
    /// epoch (or with no <see cref="StabilityRunOptions.TotalEpochs"/>), otherwise <c>failed</c>: a run disposed short of its
    /// last epoch with no stop asked for was left by an exception (a <c>using</c> block cannot tell), and must not read
    /// as completed — then releases its lock and the signal handlers.
    /// </summary>
    public void Dispose()
    {
        if (_outcome is null)
        {
            if (StopRequested && !Finished)
            {
                Finish(RunStates.Stopped, null);
            }
            else if (_options.TotalEpochs > 0 && !Finished)
            {
                Finish(RunStates.Failed, $"The run ended at epoch {_lastEpoch} of {_options.TotalEpochs} without End(): an exception left the training loop, or it returned early. Use StabilityRun.Execute, or call End() yourself.");
            }
            else
            {
                Finish(RunStates.Completed, null);
            }
        }

        _folder.Dispose();
        _stop.Dispose();
        _signals?.Dispose();
    }

    private bool Finished => _options.TotalEpochs > 0 && _lastEpoch >= _options.TotalEpochs;

    private string Finish(string state, string? error)
    {
        _outcome = state;
        var trainerState = state switch { RunStates.Completed => TrainerState.Completed, RunStates.Stopped => TrainerState.Stopped, _ => TrainerState.Failed };
        Report(_snapshot with { State = trainerState, ErrorMessage = error, EtaSeconds = trainerState == TrainerState.Completed ? 0 : null, LastUpdate = DateTimeOffset.UtcNow });
        var summary = state switch
        {
            RunStates.Completed => $"Run {RunId} completed: {_lastEpoch} epochs.",
            RunStates.Stopped => $"Run {RunId} stopped after epoch {_lastEpoch}; a restart resumes it from its newest checkpoint.",
            _ => $"Run {RunId} failed: {error}",
        };
        Event(state, summary, state == RunStates.Failed ? EventSeverity.Error : EventSeverity.Info, new Dictionary<string, string> { ["epochs"] = Invariant(_lastEpoch) });
        _publisher.Dispose();
        try
        {
            _folder.End(state, _lastEpoch, _final.Where(f => f.Key != "step").ToDictionary(), _best, error: error);
        }
        catch (Exception ex) when (ex is StabilityException or IOException)
        {
            Console.Error.WriteLine($"stabilitytools: could not record the end of run {RunId} in run.json: {ex.Message}");
        }

        return state;
    }

    // --- inside -----------------------------------------------------------------------------------------------------

    private static TrainingRun Opening(TrainingRun? old, string runId, string service, string trainer, string device)
    {
        var now = DateTimeOffset.UtcNow;
        var completed = old?.State == RunStates.Completed;
        return (old ?? new TrainingRun { RunId = runId, Service = service, Created = now }) with
        {
            State = completed ? RunStates.Completed : RunStates.Running,
            Started = now,
            Ended = completed ? old!.Ended : null,
            ErrorMessage = completed ? old!.ErrorMessage : null,
            Attempts = (old?.Attempts ?? 0) + 1,
            Trainer = trainer,
            Host = System.Environment.MachineName,
            Device = device,
        };
    }

    private static void Flatten(string prefix, IEnumerable<KeyValuePair<string, object?>> values, SortedDictionary<string, JsonElement> into)
    {
        foreach (var (name, value) in values)
        {
            var key = prefix.Length == 0 ? name : $"{prefix}.{name}";
            if (value is IEnumerable<KeyValuePair<string, object?>> nested)
            {
                Flatten(key, nested, into);
            }
            else
            {
                into[key] = JsonSerializer.SerializeToElement(value, StatusJson.Options);
            }
        }
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void Remember(MetricRecord record)
    {
        _logged.Add(record.Epoch);
        _lastEpoch = Math.Max(_lastEpoch, record.Epoch);
        var figures = new List<(string Name, double? Value)>
        {
            ("train_loss", record.TrainLoss), ("train_accuracy", record.TrainAccuracy), ("val_loss", record.ValLoss),
            ("val_accuracy", record.ValAccuracy), ("samples_per_sec", record.SamplesPerSec), ("learning_rate", record.LearningRate),
        };
        figures.AddRange((record.Scalars ?? new Dictionary<string, double>()).Select(s => (s.Key, (double?)s.Value)));
        foreach (var (name, value) in figures)
        {
            if (value is not { } v)
            {
                continue;
            }

            _final[name] = v;
            var better = _best.TryGetValue(name, out var seen) ? RunFolder.Better(name, seen, v) : v;
            if (name == "val_accuracy" && (!_best.ContainsKey(name) || better != seen))
            {
                _bestEpoch = record.Epoch;
            }

            _best[name] = better;
        }

        _final["step"] = record.Step;
    }

    private void Report(ProgressSnapshot snapshot)
    {
        _snapshot = snapshot;
        _publisher.Report(snapshot);
    }

    /// <summary>After a pause on a full disk: <c>running</c> again.</summary>
    private void ReportResumed() => Report(_snapshot with { State = TrainerState.Running, ErrorMessage = null, LastUpdate = DateTimeOffset.UtcNow });
}
