using System.Diagnostics;
using System.Text.Json;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Models;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// The training of one run by one trainer process: resumes from the newest valid checkpoint (or starts), trains the
/// remaining epochs, checkpoints, and reports through the <see cref="StatusPublisher"/>; stops gracefully when asked.
/// </summary>
/// <remarks>
/// The loop owns the run's <see cref="TrainingPosition"/> and is the only thing that changes it, on the training
/// thread. Exactly-once epoch history: an epoch's record goes to <c>metrics.jsonl</c> only after a checkpoint that
/// contains the epoch is durable (<see cref="SaveCheckpoint"/>), and every checkpoint carries the whole history; a
/// restarted trainer re-queues that history and the publisher skips epochs the log already has.
/// </remarks>
internal sealed class TrainingLoop : IDisposable
{
    private readonly TrainingPlan _plan;
    private readonly RunDirectory _run;
    private readonly StatusPublisher _publisher;
    private readonly TrainerEvents _events;
    private readonly CancellationToken _stop;
    private readonly SessionHooks? _hooks;
    private readonly MarketModel _model;
    private readonly optim.Optimizer _optimizer;
    private readonly nn.Module<Tensor, Tensor, Tensor> _lossFunction;
    private readonly CheckpointStore _store;
    private readonly DiskFullPause _disk;
    private readonly LoadedCheckpoint? _resumedFrom;
    private readonly TrainingPosition _position;
    private readonly Tensor _inputs;
    private readonly Tensor _labels;
    private ProgressSnapshot _snapshot;
    private Throughput _throughput = new(0);

    // The counter the supervisor's hang detection watches: it moves on every step, validation and checkpoint.
    private long _progress;

    /// <summary>Builds the model and optimizer (seeded), and restores the newest valid checkpoint of the run, if any.</summary>
    public TrainingLoop(TrainingPlan plan, RunDirectory run, StatusPublisher publisher, ProgressSnapshot snapshot, TrainerEvents events,
        CancellationToken stop, SessionHooks? hooks)
    {
        (_plan, _run, _publisher, _snapshot, _events, _stop, _hooks) = (plan, run, publisher, snapshot, events, stop, hooks);
        var training = plan.Options.Training;
        torch.random.manual_seed(training.Seed);
        _model = new MarketModel(plan.Options.Model, plan.Features.Window);
        try
        {
            _model.to(plan.Device);
            _optimizer = optim.Adam(_model.parameters(), training.LearningRate);
            _lossFunction = nn.BCEWithLogitsLoss();
            _store = new CheckpointStore(run.Path, plan.Options.Checkpointing.Keep);
            _store.SweepTemporaries();
            _resumedFrom = _store.LoadNewestValid(LoadedCheckpoint.Parse, (path, why) => publisher.Enqueue(events.Create("checkpoint_fallback", EventSeverity.Warning,
                $"Checkpoint '{Path.GetFileName(path)}' is unusable ({why}); it was renamed *.corrupt and an older checkpoint is tried.",
                new Dictionary<string, string> { ["path"] = path, ["reason"] = why })));
            _position = TrainingPosition.Start();
            if (_resumedFrom is not null)
            {
                TorchState.Load(_model, _resumedFrom.ModelState);
                TorchState.Load(_optimizer, _resumedFrom.OptimizerState);
                TorchState.LoadRng(_resumedFrom.RngState);
                _position = TrainingPosition.Restore(_resumedFrom.Metadata, _resumedFrom.Path);
            }

            _inputs = torch.tensor(plan.Features.Features, [plan.Features.Count, plan.Features.Window, FeatureSet.Channels]).to(plan.Device);
            _labels = torch.tensor(plan.Features.Labels).to(plan.Device);

            // A full disk pauses training at the next durable write rather than failing the run; see DiskFullPause.
            _disk = new DiskFullPause(publisher, stop, events);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Trains to the end of the run, or to a graceful stop.</summary>
    /// <exception cref="OperationCanceledException">Stopped while paused on a full disk.</exception>
    public TrainingOutcome Run()
    {
        Announce();
        for (var epoch = _position.EpochsDone + 1; epoch <= _plan.Options.Training.Epochs; epoch++)
        {
            if (_stop.IsCancellationRequested)
            {
                // Between epochs: keep what was trained since the last checkpoint (interval_epochs > 1).
                if (_position.HasUncheckpointedSteps)
                {
                    SaveCheckpoint();
                }

                return Stopped();
            }

            if (TrainEpoch(epoch) is not { } samplesPerSec)
            {
                // Graceful stop mid-epoch: the step is finished; keep it.
                SaveCheckpoint();
                return Stopped();
            }

            FinishEpoch(epoch, samplesPerSec);
        }

        return Complete();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _labels?.Dispose();
        _inputs?.Dispose();
        _lossFunction?.Dispose();
        _optimizer?.Dispose();
        _model.Dispose();
    }

    /// <summary>Queues the resumed history and the <c>resumed</c> or <c>started</c> event, and reports <c>running</c>.</summary>
    private void Announce()
    {
        var options = _plan.Options;
        if (_resumedFrom is not null)
        {
            foreach (var summary in _position.History)
            {
                _publisher.Enqueue(EpochRecord(summary));
            }

            _publisher.Enqueue(_events.Create("resumed", EventSeverity.Info,
                $"Resumed run {_run.RunId} from {Path.GetFileName(_resumedFrom.Path)} (epoch {_position.EpochsDone}, step {_position.Step}).",
                new Dictionary<string, string> { ["checkpoint"] = _resumedFrom.Path, ["epoch"] = _position.EpochsDone.ToString(), ["step"] = _position.Step.ToString() }));
        }
        else
        {
            _publisher.Enqueue(_events.Create("started", EventSeverity.Info,
                $"Started run {_run.RunId}: {options.Model.Kind}, {options.Training.Epochs} epochs, {_plan.Features.TrainCount} training samples, {_plan.DeviceName}, {_plan.Threads} threads."));
        }

        _progress = _position.Step + _position.EpochsDone;
        var last = _position.History.LastOrDefault();
        Report(_snapshot with
        {
            State = TrainerState.Running, Epoch = _position.EpochsDone + 1, Step = _position.Step, Progress = _progress, ModelPath = _position.CheckpointPath,
            Accuracy = last?.ValAccuracy ?? 0, ValLoss = last?.ValLoss, Loss = last?.TrainLoss ?? 0, LastUpdate = DateTimeOffset.UtcNow,
        });
        _throughput = new Throughput(last?.SamplesPerSec ?? 0);
    }

    /// <summary>Trains the epoch's remaining batches.</summary>
    /// <returns>The epoch's training throughput; null when a stop was requested before its last batch (the position is mid-epoch).</returns>
    private double? TrainEpoch(int epoch)
    {
        _hooks?.EpochStarting?.Invoke(epoch, _publisher);
        _model.train();
        using var order = torch.tensor(TrainingSession.Permutation(_plan.Features.TrainCount, _plan.Options.Training.Seed, epoch)).to(_plan.Device);
        var epochClock = Stopwatch.StartNew();
        var epochSamples = 0L;
        while (_position.BatchInEpoch < _plan.BatchesPerEpoch)
        {
            epochSamples += TrainBatch(epoch, order);
            if (_stop.IsCancellationRequested && _position.BatchInEpoch < _plan.BatchesPerEpoch)
            {
                return null;
            }
        }

        return epochSamples / Math.Max(1e-6, epochClock.Elapsed.TotalSeconds);
    }

    /// <summary>One optimizer step on the position's next batch; reports it.</summary>
    /// <returns>The batch's size.</returns>
    private int TrainBatch(int epoch, Tensor order)
    {
        var batchSize = _plan.Options.Training.BatchSize;
        var start = _position.BatchInEpoch * batchSize;
        var size = Math.Min(batchSize, _plan.Features.TrainCount - start);
        float batchLoss;
        long correct;
        using (var scope = torch.NewDisposeScope())
        {
            var index = order.narrow(0, start, size);
            var x = _inputs.index_select(0, index);
            var y = _labels.index_select(0, index);
            _optimizer.zero_grad();
            var logits = _model.forward(x);
            var loss = _lossFunction.forward(logits, y);
            loss.backward();
            _optimizer.step();
            batchLoss = loss.item<float>();
            correct = logits.gt(0).eq(y.gt(0.5f)).sum().item<long>();
        }

        _position.AddBatch(batchLoss, correct, size);
        _progress++;
        _throughput.AddStep(size);
        var step = _position.Step;
        Report(_snapshot with
        {
            Epoch = epoch, Step = step, Progress = _progress, Loss = _position.PartialLoss, SamplesPerSec = _throughput.SamplesPerSec,
            EtaSeconds = _throughput.EtaSeconds(_plan.TotalSteps - step), LastUpdate = DateTimeOffset.UtcNow,
        });
        _hooks?.StepCompleted?.Invoke(step, _publisher);
        if (step % _plan.Options.Status.StepSampleEvery == 0)
        {
            _publisher.Enqueue(new MetricRecord
            {
                Time = DateTimeOffset.UtcNow, RunId = _run.RunId, Kind = MetricKind.Step, Epoch = epoch, Step = step,
                TrainLoss = batchLoss, TrainAccuracy = (double)correct / size, SamplesPerSec = _throughput.SamplesPerSec,
                LearningRate = _plan.Options.Training.LearningRate,
            });
        }

        return size;
    }

    /// <summary>Validates, closes the epoch, checkpoints when the interval says so, and publishes the epoch's documents.</summary>
    private void FinishEpoch(int epoch, double samplesPerSec)
    {
        var options = _plan.Options;
        var (valLoss, valAccuracy) = ModelEvaluation.Validate(_model, _lossFunction, _inputs, _labels, _plan.Features);
        _progress++;
        var summary = _position.CompleteEpoch(epoch, valLoss, valAccuracy, samplesPerSec, options.Training.LearningRate);
        if (epoch % options.Checkpointing.IntervalEpochs == 0 || epoch == options.Training.Epochs)
        {
            // Only with the epoch in a durable checkpoint may its record become visible (SaveCheckpoint).
            SaveCheckpoint();
        }

        var best = _position.History.MaxBy(h => h.ValAccuracy)!;
        _publisher.ReportMetrics(new ModelMetrics
        {
            RunId = _run.RunId, Epoch = epoch, Step = summary.Step, TrainLoss = summary.TrainLoss, TrainAccuracy = summary.TrainAccuracy,
            ValLoss = valLoss, ValAccuracy = valAccuracy, BestValAccuracy = best.ValAccuracy, BestEpoch = best.Epoch,
            SamplesPerSec = summary.SamplesPerSec, LearningRate = options.Training.LearningRate, Model = options.Model.Kind, Parameters = _model.ParameterCount,
        });
        _publisher.ReportMarket(ModelEvaluation.Market(options, _model, _inputs, _plan.Features));
        Report(_snapshot with
        {
            Epoch = epoch, Step = summary.Step, Progress = _progress, Loss = summary.TrainLoss, Accuracy = valAccuracy, ValLoss = valLoss,
            ModelPath = _position.CheckpointPath, LastUpdate = DateTimeOffset.UtcNow,
        });
    }

    /// <summary>Writes a checkpoint of the position; then, with those epochs durable, lets their records become visible.</summary>
    private void SaveCheckpoint()
    {
        var metadata = _position.ToMetadata(_run.RunId, _run.Fingerprint);
        var (modelState, optimizerState, rngState) = (TorchState.Save(_model), TorchState.Save(_optimizer), TorchState.SaveRng());
        var metadataJson = JsonSerializer.Serialize(metadata, StatusJson.Options);
        var path = _disk.Run(() => _store.Save(metadata.EpochsDone, metadata.BatchInEpoch, metadataJson, [modelState, optimizerState, rngState]),
            $"the checkpoint of epoch {metadata.EpochsDone}, batch {metadata.BatchInEpoch}", ReportResumed);
        _position.Checkpointed(path);
        _progress++;
        foreach (var pending in _position.History.Where(h => !_publisher.IsEpochRecorded(h.Epoch)))
        {
            _publisher.Enqueue(EpochRecord(pending));
        }
    }

    /// <summary>Writes the final model and the completed <c>run.json</c>, and reports completion.</summary>
    private TrainingOutcome Complete()
    {
        var options = _plan.Options;
        var final = _position.History[^1];
        var finalMetadata = new ModelFileMetadata
        {
            RunId = _run.RunId, Model = options.Model, Window = _plan.Features.Window, Normalization = _plan.Features.Normalization,
            Epochs = options.Training.Epochs, ValAccuracy = final.ValAccuracy,
        };
        _disk.Run(() => { TrainedModel.Save(_run.FinalModelPath, _model, finalMetadata); return true; }, "the final model", ReportResumed);
        _disk.Run(() => { _run.End(RunStates.Completed, _position.History, _run.FinalModelPath); return true; }, "run.json", ReportResumed);
        Report(_snapshot with { State = TrainerState.Completed, Epoch = options.Training.Epochs, ModelPath = _run.FinalModelPath, EtaSeconds = 0, LastUpdate = DateTimeOffset.UtcNow });
        _publisher.Enqueue(_events.Create("completed", EventSeverity.Info,
            $"Run {_run.RunId} completed: {options.Training.Epochs} epochs, validation accuracy {final.ValAccuracy:P1}; model at {_run.FinalModelPath}.",
            new Dictionary<string, string> { ["model_path"] = _run.FinalModelPath }));
        _publisher.Flush(TimeSpan.FromSeconds(3));
        return Outcome(TrainerState.Completed, _run.FinalModelPath);
    }

    /// <summary>Reports the stop; the run resumes from <see cref="TrainingPosition.CheckpointPath"/>.</summary>
    private TrainingOutcome Stopped()
    {
        var checkpoint = _position.CheckpointPath;
        Report(_snapshot with { State = TrainerState.Stopped, ModelPath = checkpoint, EtaSeconds = null, LastUpdate = DateTimeOffset.UtcNow });
        _publisher.Enqueue(_events.Create("stopped", EventSeverity.Info,
            $"Training stopped on request after step {_position.Step}; it resumes from {Path.GetFileName(checkpoint) ?? "the start"}."));
        _publisher.Flush(TimeSpan.FromSeconds(3));
        return Outcome(TrainerState.Stopped, checkpoint);
    }

    private TrainingOutcome Outcome(TrainerState state, string? modelPath) => new(
        state, _run.RunId, _position.EpochsDone, _position.Step, modelPath, _position.History.ToList(), _resumedFrom?.Path, _plan.DeviceName, _plan.Threads);

    private void Report(ProgressSnapshot snapshot)
    {
        _snapshot = snapshot;
        _publisher.Report(snapshot);
    }

    /// <summary>After a pause on a full disk: <c>running</c> again.</summary>
    private void ReportResumed() =>
        _publisher.Report((_publisher.Latest ?? _snapshot) with { State = TrainerState.Running, ErrorMessage = null, LastUpdate = DateTimeOffset.UtcNow });

    private MetricRecord EpochRecord(EpochSummary s) => new()
    {
        Time = s.Time, RunId = _run.RunId, Kind = MetricKind.Epoch, Epoch = s.Epoch, Step = s.Step, TrainLoss = s.TrainLoss,
        TrainAccuracy = s.TrainAccuracy, ValLoss = s.ValLoss, ValAccuracy = s.ValAccuracy, SamplesPerSec = s.SamplesPerSec, LearningRate = s.LearningRate,
    };
}
