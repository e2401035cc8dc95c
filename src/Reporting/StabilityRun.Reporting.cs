using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;

namespace StabilityTools.Reporting;

// What a run reports: parameters, steps, epochs with their scalars, market data, events.
public sealed partial class StabilityRun
{
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
}
