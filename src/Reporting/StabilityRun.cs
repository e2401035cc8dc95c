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
public sealed class StabilityRun : IDisposable
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

    // --- reporting --------------------------------------------------------------------------------------------------

    /// <summary>
    /// Records the run's parameters in <c>run.json</c>, where <c>Get-TrainingRun</c> and <c>Compare-TrainingRun</c> show
    /// them; a nested dictionary becomes dotted keys (<c>optimizer.lr</c>). A resumed run must keep the values it started
    /// with.
    /// </summary>
    /// <param name="values">Names and values: numbers, strings, booleans, or dictionaries of them.</param>
    /// <exception cref="ConfigurationException">A value differs from the one the run was started with (its key named).</exception>
    public void Params(IEnumerable<KeyValuePair<string, object?>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var flat = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        Flatten("", values, flat);
        _disk.Run(() => _folder.Update(info =>
        {
            var current = info ?? _folder.Info;
            var recorded = new SortedDictionary<string, JsonElement>(current.Parameters.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
            var changed = flat.Where(p => recorded.TryGetValue(p.Key, out var old) && old.GetRawText() != p.Value.GetRawText())
                .Select(p => new ConfigurationProblem(null, null, p.Key,
                    $"run '{RunId}' was started with {p.Key} = {recorded[p.Key].GetRawText()}, now {p.Value.GetRawText()}. Resume it with its original parameters, or start a new run (Start-TrainingProcess without -Resume/-RunId)."))
                .ToList();
            if (changed.Count > 0)
            {
                throw new ConfigurationException(changed);
            }

            foreach (var (key, value) in flat)
            {
                recorded[key] = value;
            }

            return current with { Parameters = recorded };
        }), "run.json", ReportResumed);
    }

    /// <summary>The epochs still to train: <see cref="StartEpoch"/> + 1 to <see cref="StabilityRunOptions.TotalEpochs"/>,
    /// with a stop point before each. None when the run had completed them all before (a restart trains nothing).</summary>
    /// <exception cref="ConfigurationException">No <see cref="StabilityRunOptions.TotalEpochs"/> was given.</exception>
    /// <exception cref="OperationCanceledException">A stop was requested.</exception>
    public IEnumerable<int> Epochs()
    {
        if (_options.TotalEpochs == 0)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "TotalEpochs", "Epochs() needs TotalEpochs: pass new StabilityRunOptions { TotalEpochs = N }."));
        }

        return Iterate();

        IEnumerable<int> Iterate()
        {
            if (_wasCompleted && _lastEpoch >= _options.TotalEpochs)
            {
                yield break;
            }

            for (var epoch = StartEpoch + 1; epoch <= _options.TotalEpochs; epoch++)
            {
                ThrowIfStopRequested();
                Report(_snapshot with { Epoch = epoch, State = TrainerState.Running, LastUpdate = DateTimeOffset.UtcNow });
                yield return epoch;
            }
        }
    }

    /// <summary>One training step done: the progress counter the supervisor's hang detection watches grows, and the
    /// status shows <paramref name="loss"/>. No I/O. A stop point.</summary>
    /// <param name="loss">The step's training loss, shown in the status.</param>
    /// <param name="accuracy">Its accuracy, shown in the status.</param>
    /// <param name="samples">Samples in the step, for the throughput.</param>
    /// <param name="step">The run's step counter, when yours; default: one more than the last.</param>
    /// <exception cref="OperationCanceledException">A stop was requested.</exception>
    public void Step(double? loss = null, double? accuracy = null, int samples = 0, long? step = null)
    {
        _throughput.AddStep(samples);
        var next = step ?? _snapshot.Step + 1;
        Report(_snapshot with
        {
            Step = next, Progress = _snapshot.Progress + 1, Loss = loss ?? _snapshot.Loss, Accuracy = accuracy ?? _snapshot.Accuracy,
            SamplesPerSec = _throughput.SamplesPerSec, LastUpdate = DateTimeOffset.UtcNow,
            EtaSeconds = _snapshot.TotalSteps > 0 ? _throughput.EtaSeconds(Math.Max(0, _snapshot.TotalSteps - next)) : null,
        });
        ThrowIfStopRequested();
    }

    /// <summary>
    /// Records an epoch in <c>metrics.jsonl</c> (and <c>model_metrics.json</c>, the status): the standard figures and any
    /// custom scalars, which <c>Get-TrainingMetric</c>, <c>Get-TrainingRun</c> and the dashboard show by name. Written
    /// once in the life of the run: an epoch recorded before (by a life that was killed) returns false and writes nothing.
    /// Log an epoch, then checkpoint it.
    /// </summary>
    /// <param name="epoch">The epoch (1-based).</param>
    /// <param name="loss">The training loss (<c>train_loss</c>).</param>
    /// <param name="accuracy">The training accuracy (<c>train_accuracy</c>).</param>
    /// <param name="valLoss">The validation loss.</param>
    /// <param name="valAccuracy">The validation accuracy.</param>
    /// <param name="samplesPerSec">The throughput; default the measured one.</param>
    /// <param name="learningRate">The learning rate.</param>
    /// <param name="scalars">Figures of your own.</param>
    /// <param name="step">The step counter at the end of the epoch; default the last <see cref="Step"/>'s.</param>
    /// <returns>True when the record was written; false when the epoch was recorded before.</returns>
    public bool Log(int epoch, double? loss = null, double? accuracy = null, double? valLoss = null, double? valAccuracy = null,
        double? samplesPerSec = null, double? learningRate = null, IReadOnlyDictionary<string, double>? scalars = null, long? step = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epoch);
        if (_logged.Contains(epoch))
        {
            return false;
        }

        var record = new MetricRecord
        {
            Time = DateTimeOffset.UtcNow, RunId = RunId, Kind = MetricKind.Epoch, Epoch = epoch, Step = step ?? _snapshot.Step,
            TrainLoss = loss, TrainAccuracy = accuracy, ValLoss = valLoss, ValAccuracy = valAccuracy,
            SamplesPerSec = samplesPerSec ?? (_throughput.SamplesPerSec > 0 ? _throughput.SamplesPerSec : null), LearningRate = learningRate,
            Scalars = scalars is { Count: > 0 } ? new SortedDictionary<string, double>(scalars.ToDictionary(), StringComparer.Ordinal) : null,
        };
        _publisher.Enqueue(record);
        Remember(record);
        _publisher.ReportMetrics(new ModelMetrics
        {
            RunId = RunId, Epoch = epoch, Step = record.Step, TrainLoss = loss ?? 0, TrainAccuracy = accuracy ?? 0, ValLoss = valLoss ?? 0,
            ValAccuracy = valAccuracy ?? 0, BestValAccuracy = _best.GetValueOrDefault("val_accuracy"), BestEpoch = _bestEpoch,
            SamplesPerSec = record.SamplesPerSec ?? 0, LearningRate = learningRate ?? 0,
        });
        Report(_snapshot with
        {
            Epoch = epoch, Step = record.Step, Loss = loss ?? _snapshot.Loss, Accuracy = valAccuracy ?? accuracy ?? _snapshot.Accuracy,
            ValLoss = valLoss ?? _snapshot.ValLoss, LastUpdate = DateTimeOffset.UtcNow,
        });

        // The record must be on disk before the checkpoint that follows it: a kill after that checkpoint must not lose it.
        _publisher.Flush(_options.LockTimeout + _options.LockTimeout);
        return true;
    }

    /// <summary>Records a sample within an epoch (<c>kind: step</c> in <c>metrics.jsonl</c>); as many as you like.</summary>
    /// <param name="loss">The training loss.</param>
    /// <param name="accuracy">The training accuracy.</param>
    /// <param name="learningRate">The learning rate.</param>
    /// <param name="scalars">Figures of your own.</param>
    public void LogStep(double? loss = null, double? accuracy = null, double? learningRate = null, IReadOnlyDictionary<string, double>? scalars = null) =>
        _publisher.Enqueue(new MetricRecord
        {
            Time = DateTimeOffset.UtcNow, RunId = RunId, Kind = MetricKind.Step, Epoch = _snapshot.Epoch, Step = _snapshot.Step,
            TrainLoss = loss, TrainAccuracy = accuracy, LearningRate = learningRate, SamplesPerSec = _throughput.SamplesPerSec,
            Scalars = scalars is { Count: > 0 } ? new SortedDictionary<string, double>(scalars.ToDictionary(), StringComparer.Ordinal) : null,
        });

    /// <summary>Publishes the latest market window and the model's predictions on it (<c>market_data.json</c>: the
    /// dashboard's chart).</summary>
    /// <param name="bars">The bars, oldest first.</param>
    /// <param name="predictions">The predictions (probability up, signal -1, 0 or 1).</param>
    /// <param name="symbol">The instrument.</param>
    /// <param name="source">Where the bars come from.</param>
    public void Market(IEnumerable<MarketBar> bars, IEnumerable<MarketPrediction>? predictions = null, string symbol = "", string? source = null) =>
        _publisher.ReportMarket(new MarketData { Symbol = symbol, Source = source, Bars = bars.ToList(), Predictions = predictions?.ToList() ?? [] });

    /// <summary>Appends an event of your own to <c>events.jsonl</c> in the name of the run's service (written by the
    /// heartbeat thread; never throws for the disk's sake).</summary>
    /// <param name="type">Its type (<c>my_event</c>).</param>
    /// <param name="message">What happened, for a person.</param>
    /// <param name="severity">How bad.</param>
    /// <param name="data">Details; the run id is added.</param>
    public void Event(string type, string message, EventSeverity severity = EventSeverity.Info, IReadOnlyDictionary<string, string>? data = null)
    {
        var all = new Dictionary<string, string>(data ?? new Dictionary<string, string>(), StringComparer.Ordinal) { ["run_id"] = RunId };
        _publisher.Enqueue(_events.Create(type, severity, message, all));
    }

    // --- checkpoints ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Loads the newest valid checkpoint with <paramref name="load"/> and sets <see cref="StartEpoch"/> from it. A damaged
    /// checkpoint (its checksum no longer matches) is renamed <c>*.corrupt</c>, reported as a <c>checkpoint_fallback</c>
    /// event, and the next older one is tried.
    /// </summary>
    /// <typeparam name="T">What <paramref name="load"/> makes.</typeparam>
    /// <param name="load">Reads what <see cref="Checkpoint"/>'s save wrote (a read-only stream over exactly those bytes).</param>
    /// <returns>The checkpoint, or null when there is none: a fresh start.</returns>
    public Checkpoint<T>? Resume<T>(Func<Stream, T> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        var found = _checkpoints.LoadNewestValid(ParseStream, (path, why) => Event("checkpoint_fallback",
            $"Checkpoint '{Path.GetFileName(path)}' is unusable ({why}); it was renamed *.corrupt and an older checkpoint is tried.",
            EventSeverity.Warning, new Dictionary<string, string> { ["path"] = path, ["reason"] = why }));
        if (found is null)
        {
            return null;
        }

        using var stream = new MemoryStream(found.Payload, writable: false);
        var state = load(stream);
        StartEpoch = found.Metadata.Epoch;
        Report(_snapshot with { Epoch = Math.Max(_snapshot.Epoch, found.Metadata.Epoch), Step = found.Metadata.Step, ModelPath = found.Path });
        Event("resumed", $"Run {RunId} resumed from {Path.GetFileName(found.Path)} (epoch {found.Metadata.Epoch}, step {found.Metadata.Step}).",
            data: new Dictionary<string, string> { ["checkpoint"] = found.Path, ["epoch"] = Invariant(found.Metadata.Epoch), ["step"] = Invariant(found.Metadata.Step) });
        return new Checkpoint<T>(state, found.Metadata.Epoch, found.Metadata.Step, found.Path);
    }

    /// <summary>
    /// Saves what <paramref name="save"/> writes as the checkpoint of <paramref name="epoch"/> (epochs done): atomically
    /// and durably (a kill at any instant leaves the previous one whole), checksummed, newest
    /// <see cref="StabilityRunOptions.KeepCheckpoints"/> kept. Pauses while the disk is full.
    /// </summary>
    /// <param name="epoch">Epochs done.</param>
    /// <param name="save">Writes the state (model, optimizer, your counters) to the stream.</param>
    /// <param name="step">The step counter; default the last <see cref="Step"/>'s.</param>
    /// <returns>The checkpoint's path.</returns>
    /// <exception cref="OperationCanceledException">Stopped while paused on a full disk; nothing was written.</exception>
    public string Checkpoint(int epoch, Action<Stream> save, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(save);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        byte[] payload;
        using (var buffer = new MemoryStream())
        {
            save(buffer);
            payload = buffer.ToArray();
        }

        var metadata = new StreamCheckpointMetadata { RunId = RunId, Epoch = epoch, Step = step ?? _snapshot.Step, Time = DateTimeOffset.UtcNow };
        var json = JsonSerializer.Serialize(metadata, StatusJson.Options);
        var path = _disk.Run(() => _checkpoints.Save(epoch, 0, json, [payload]), $"the checkpoint of epoch {epoch}", ReportResumed);
        Report(_snapshot with { ModelPath = path, Progress = _snapshot.Progress + 1, LastUpdate = DateTimeOffset.UtcNow });
        return path;
    }

    /// <summary>Saves the final model as <c>model-final.bin</c> in the run's folder, atomically; <c>run.json</c> names it.</summary>
    /// <param name="save">Writes the model to the stream.</param>
    /// <returns>The file's path.</returns>
    public string SaveFinal(Action<Stream> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        byte[] payload;
        using (var buffer = new MemoryStream())
        {
            save(buffer);
            payload = buffer.ToArray();
        }

        var path = _folder.Paths.FinalModelPath;
        _disk.Run(() => { AtomicFile.Replace(path, payload, fsync: true); return true; }, "the final model", ReportResumed);
        _disk.Run(() => _folder.Update(info => (info ?? _folder.Info) with { FinalModel = path }), "run.json", ReportResumed);
        Report(_snapshot with { ModelPath = path });
        return path;
    }

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

    private static StreamCheckpoint ParseStream(string path, string metadataJson, IReadOnlyList<byte[]> blobs)
    {
        var metadata = JsonSerializer.Deserialize<StreamCheckpointMetadata>(metadataJson, StatusJson.Options) ?? throw new InvalidDataException("empty metadata");
        if (metadata.Kind != StreamKind || blobs.Count != 1)
        {
            throw new InvalidDataException($"not a checkpoint of StabilityRun.Checkpoint (kind '{metadata.Kind}', {blobs.Count} blocks)");
        }

        return new StreamCheckpoint(path, metadata, blobs[0]);
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

    internal sealed record StreamCheckpoint(string Path, StreamCheckpointMetadata Metadata, byte[] Payload);

    /// <summary>The metadata block of a <see cref="Checkpoint"/> container.</summary>
    internal sealed record StreamCheckpointMetadata
    {
        /// <summary>The format version.</summary>
        public int Format { get; init; } = 1;

        /// <summary>What wrote it: <c>stream</c> (the built-in trainer's containers have no kind).</summary>
        public string Kind { get; init; } = StreamKind;

        /// <summary>The run.</summary>
        public string RunId { get; init; } = "";

        /// <summary>Epochs done.</summary>
        public int Epoch { get; init; }

        /// <summary>The step counter.</summary>
        public long Step { get; init; }

        /// <summary>When it was written.</summary>
        public DateTimeOffset Time { get; init; }
    }
}
