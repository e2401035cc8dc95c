using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// One trainer process's work on a run: load data, resume from the newest valid checkpoint (or start), train the
/// remaining epochs, checkpoint, and report through the status files; stop gracefully when asked.
/// </summary>
/// <remarks>
/// Exactly-once epoch history: an epoch's record goes to <c>metrics.jsonl</c> only after a checkpoint that contains
/// the epoch is durable, and every checkpoint carries the whole epoch history. A restarted trainer re-queues that
/// history and the status publisher skips epochs the log already has, so a kill at any instant neither loses nor
/// doubles an epoch; epochs after the checkpoint resumed from are retrained and recorded once.
/// </remarks>
internal static class TrainingSession
{
    /// <summary>The service name used in events.</summary>
    public const string Service = "training";

    private const int ValidationChunk = 2048;

    /// <summary>Runs the session to completion or until <paramref name="stop"/> is cancelled.</summary>
    /// <exception cref="Engine.Errors.ConfigurationException">The run conflicts with the configuration.</exception>
    /// <exception cref="MarketDataException">The CSV cannot be used.</exception>
    public static TrainingOutcome Run(TrainerOptions options, StateDirectory state, CancellationToken stop, SessionHooks? hooks = null)
    {
        // Everything that can reject the input happens before anything is written.
        var bars = options.Data.Source == "csv"
            ? OhlcvCsvLoader.Load(options.Data.CsvPath!, FeatureSet.MinimumBars(options.Data.Window))
            : SyntheticMarket.Generate(options.Data.Bars, options.Data.Seed);
        var features = FeatureSet.Build(bars, options.Data.Window, options.Data.ValidationFraction);

        TorchRuntime.EnsureInitialized();
        var shared = new SharedDataManager(state,
            new StatusStoreOptions { Fsync = options.Status.Fsync, LockTimeout = options.Status.LockTimeout },
            new JsonLinesOptions { LockTimeout = options.Status.LockTimeout });
        using var run = RunDirectory.Open(state, options, TimeSpan.FromSeconds(15), stop);
        var device = DeviceSelection.Select(options.Training.Device, out var fallback);
        var deviceName = device.type == DeviceType.CUDA ? $"cuda:{device.index}" : "cpu";
        var threads = DeviceSelection.ApplyThreads(options.Training.Threads);
        var batchesPerEpoch = (features.TrainCount + options.Training.BatchSize - 1) / options.Training.BatchSize;
        var totalSteps = (long)batchesPerEpoch * options.Training.Epochs;

        using var publisher = new StatusPublisher(shared, run.RunId, deviceName, TimeSpan.FromMilliseconds(options.Status.WriteIntervalMs), options.Status.Enabled);
        var snapshot = new ProgressSnapshot { State = "starting", TotalEpochs = options.Training.Epochs, TotalSteps = totalSteps, LastUpdate = DateTimeOffset.UtcNow };
        publisher.Report(snapshot);
        if (fallback is not null)
        {
            publisher.Enqueue(Event("device_fallback", "warning", $"Training on CPU: {fallback}."));
        }

        if (run.Info.State == "completed" && File.Exists(run.FinalModelPath))
        {
            // Killed after finishing but before exiting: report completion again, train nothing.
            var done = run.Info;
            publisher.Report(snapshot with { State = "completed", Epoch = options.Training.Epochs, Step = totalSteps, Progress = totalSteps, Accuracy = done.FinalValAccuracy ?? 0, ModelPath = run.FinalModelPath });
            publisher.Flush(TimeSpan.FromSeconds(3));
            return new TrainingOutcome("completed", run.RunId, options.Training.Epochs, totalSteps, run.FinalModelPath, [], null, deviceName, threads);
        }

        try
        {
            return Train(options, features, run, publisher, snapshot, device, deviceName, threads, batchesPerEpoch, totalSteps, stop, hooks);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped while paused on a full disk: the newest durable checkpoint is where the run resumes.
            publisher.Report((publisher.Latest ?? snapshot) with { State = "stopped", EtaSeconds = null, LastUpdate = DateTimeOffset.UtcNow });
            publisher.Flush(TimeSpan.FromSeconds(1));
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            publisher.Report((publisher.Latest ?? snapshot) with { State = "failed", ErrorMessage = ex.Message, LastUpdate = DateTimeOffset.UtcNow });
            publisher.Enqueue(Event("failed", "error", $"Training failed: {ex.Message}"));
            publisher.Flush(TimeSpan.FromSeconds(3));
            throw;
        }
    }

    private static TrainingOutcome Train(
        TrainerOptions options, FeatureSet features, RunDirectory run, StatusPublisher publisher, ProgressSnapshot snapshot,
        Device device, string deviceName, int threads, int batchesPerEpoch, long totalSteps, CancellationToken stop, SessionHooks? hooks)
    {
        var training = options.Training;
        torch.random.manual_seed(training.Seed);
        using var model = new MarketModel(options.Model, features.Window);
        model.to(device);
        using var optimizer = optim.Adam(model.parameters(), training.LearningRate);
        using var lossFunction = nn.BCEWithLogitsLoss();
        var store = new CheckpointStore(run.Path, options.Checkpointing.Keep);
        store.SweepTemporaries();

        var checkpoint = store.LoadNewestValid((path, why) => publisher.Enqueue(Event("checkpoint_fallback", "warning",
            $"Checkpoint '{Path.GetFileName(path)}' is unusable ({why}); it was renamed *.corrupt and an older checkpoint is tried.",
            new Dictionary<string, string> { ["path"] = path, ["reason"] = why })));

        var history = new List<EpochSummary>();
        var epochsDone = 0;
        var startBatch = 0;
        long step = 0;
        double partialLoss = 0;
        long partialCorrect = 0, partialSamples = 0;
        string? modelPath = null;
        if (checkpoint is not null)
        {
            var m = checkpoint.Metadata;
            TorchState.Load(model, checkpoint.ModelState);
            TorchState.Load(optimizer, checkpoint.OptimizerState);
            TorchState.LoadRng(checkpoint.RngState);
            history.AddRange(m.History);
            (epochsDone, startBatch, step) = (m.EpochsDone, m.BatchInEpoch, m.Step);
            (partialLoss, partialCorrect, partialSamples) = (m.PartialLossSum, m.PartialCorrect, m.PartialSamples);
            modelPath = checkpoint.Path;
            foreach (var summary in history)
            {
                publisher.Enqueue(EpochRecord(run.RunId, summary));
            }

            publisher.Enqueue(Event("resumed", "info", $"Resumed run {run.RunId} from {Path.GetFileName(checkpoint.Path)} (epoch {epochsDone}, step {step}).",
                new Dictionary<string, string> { ["checkpoint"] = checkpoint.Path, ["epoch"] = epochsDone.ToString(), ["step"] = step.ToString() }));
        }
        else
        {
            publisher.Enqueue(Event("started", "info", $"Started run {run.RunId}: {options.Model.Kind}, {training.Epochs} epochs, {features.TrainCount} training samples, {deviceName}, {threads} threads."));
        }

        using var inputs = torch.tensor(features.Features, [features.Count, features.Window, FeatureSet.Channels]).to(device);
        using var labels = torch.tensor(features.Labels).to(device);
        var progress = step + epochsDone;
        var last = history.LastOrDefault();
        snapshot = snapshot with
        {
            State = "running", Epoch = epochsDone + 1, Step = step, Progress = progress, ModelPath = modelPath,
            Accuracy = last?.ValAccuracy ?? 0, ValLoss = last?.ValLoss, Loss = last?.TrainLoss ?? 0, LastUpdate = DateTimeOffset.UtcNow,
        };
        publisher.Report(snapshot);

        var rateClock = Stopwatch.StartNew();
        long rateSamples = 0;
        double samplesPerSec = history.LastOrDefault()?.SamplesPerSec ?? 0;
        var sessionClock = Stopwatch.StartNew();
        long sessionSteps = 0;
        var checkpointedStep = step;

        // A full disk pauses training at the next durable write rather than failing the run; see DiskFullPause.
        var disk = new DiskFullPause(publisher, stop);
        void Resumed() => publisher.Report((publisher.Latest ?? snapshot) with { State = "running", ErrorMessage = null, LastUpdate = DateTimeOffset.UtcNow });

        // Writes a checkpoint of the current position; then, with those epochs durable, lets their records become visible.
        string SaveCheckpoint(int completedEpochs, int batchInEpoch)
        {
            var metadata = new CheckpointMetadata
            {
                RunId = run.RunId, Fingerprint = run.Fingerprint, EpochsDone = completedEpochs, BatchInEpoch = batchInEpoch, Step = step,
                PartialLossSum = partialLoss, PartialCorrect = partialCorrect, PartialSamples = partialSamples,
                History = history.ToList(), Time = DateTimeOffset.UtcNow,
            };
            var (modelState, optimizerState, rngState) = (TorchState.Save(model), TorchState.Save(optimizer), TorchState.SaveRng());
            var path = disk.Run(() => store.Save(metadata, modelState, optimizerState, rngState), $"the checkpoint of epoch {completedEpochs}, batch {batchInEpoch}", Resumed);
            checkpointedStep = step;
            progress++;
            foreach (var pending in history.Where(h => !publisher.IsEpochRecorded(h.Epoch)))
            {
                publisher.Enqueue(EpochRecord(run.RunId, pending));
            }

            return path;
        }

        for (var epoch = epochsDone + 1; epoch <= training.Epochs; epoch++)
        {
            if (stop.IsCancellationRequested)
            {
                // Between epochs: keep what was trained since the last checkpoint (interval_epochs > 1).
                if (step != checkpointedStep)
                {
                    modelPath = SaveCheckpoint(epochsDone, 0);
                }

                return Stopped(run, publisher, snapshot with { ModelPath = modelPath }, epochsDone, step, modelPath, history, checkpoint, deviceName, threads);
            }

            hooks?.EpochStarting?.Invoke(epoch, publisher);
            model.train();
            var permutation = Permutation(features.TrainCount, training.Seed, epoch);
            using var order = torch.tensor(permutation).to(device);
            var epochClock = Stopwatch.StartNew();
            var epochSamples = 0L;
            for (var b = startBatch; b < batchesPerEpoch; b++)
            {
                var start = b * training.BatchSize;
                var size = Math.Min(training.BatchSize, features.TrainCount - start);
                float batchLoss;
                long correct;
                using (var scope = torch.NewDisposeScope())
                {
                    var index = order.narrow(0, start, size);
                    var x = inputs.index_select(0, index);
                    var y = labels.index_select(0, index);
                    optimizer.zero_grad();
                    var logits = model.forward(x);
                    var loss = lossFunction.forward(logits, y);
                    loss.backward();
                    optimizer.step();
                    batchLoss = loss.item<float>();
                    correct = logits.gt(0).eq(y.gt(0.5f)).sum().item<long>();
                }

                step++;
                sessionSteps++;
                progress++;
                partialLoss += batchLoss * size;
                partialCorrect += correct;
                partialSamples += size;
                epochSamples += size;
                rateSamples += size;
                if (rateClock.ElapsedMilliseconds >= 500)
                {
                    samplesPerSec = rateSamples / rateClock.Elapsed.TotalSeconds;
                    rateSamples = 0;
                    rateClock.Restart();
                }

                var stepsPerSec = sessionSteps / Math.Max(1e-3, sessionClock.Elapsed.TotalSeconds);
                snapshot = snapshot with
                {
                    Epoch = epoch, Step = step, Progress = progress, Loss = partialLoss / partialSamples, SamplesPerSec = samplesPerSec,
                    EtaSeconds = (totalSteps - step) / stepsPerSec, LastUpdate = DateTimeOffset.UtcNow,
                };
                publisher.Report(snapshot);
                hooks?.StepCompleted?.Invoke(step, publisher);
                if (step % options.Status.StepSampleEvery == 0)
                {
                    publisher.Enqueue(new MetricRecord
                    {
                        Time = DateTimeOffset.UtcNow, RunId = run.RunId, Kind = "step", Epoch = epoch, Step = step,
                        TrainLoss = batchLoss, TrainAccuracy = (double)correct / size, SamplesPerSec = samplesPerSec, LearningRate = training.LearningRate,
                    });
                }

                if (stop.IsCancellationRequested && b + 1 < batchesPerEpoch)
                {
                    // Graceful stop mid-epoch: the step is finished; keep it.
                    modelPath = SaveCheckpoint(epoch - 1, b + 1);
                    return Stopped(run, publisher, snapshot with { ModelPath = modelPath }, epoch - 1, step, modelPath, history, checkpoint, deviceName, threads);
                }
            }

            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            var (valLoss, valAccuracy) = Validate(model, lossFunction, inputs, labels, features);
            progress++;
            var summary = new EpochSummary
            {
                Epoch = epoch, Step = step, TrainLoss = partialLoss / Math.Max(1, partialSamples), TrainAccuracy = (double)partialCorrect / Math.Max(1, partialSamples),
                ValLoss = valLoss, ValAccuracy = valAccuracy,
                SamplesPerSec = epochSamples / Math.Max(1e-6, trainSeconds), LearningRate = training.LearningRate, Time = DateTimeOffset.UtcNow,
            };
            history.Add(summary);
            epochsDone = epoch;
            startBatch = 0;
            (partialLoss, partialCorrect, partialSamples) = (0, 0, 0);

            if (epoch % options.Checkpointing.IntervalEpochs == 0 || epoch == training.Epochs)
            {
                // Only with the epoch in a durable checkpoint may its record become visible (SaveCheckpoint).
                modelPath = SaveCheckpoint(epoch, 0);
            }

            var best = history.MaxBy(h => h.ValAccuracy)!;
            publisher.ReportMetrics(new ModelMetrics
            {
                RunId = run.RunId, Epoch = epoch, Step = step, TrainLoss = summary.TrainLoss, TrainAccuracy = summary.TrainAccuracy,
                ValLoss = valLoss, ValAccuracy = valAccuracy, BestValAccuracy = best.ValAccuracy, BestEpoch = best.Epoch,
                SamplesPerSec = summary.SamplesPerSec, LearningRate = training.LearningRate, Model = options.Model.Kind, Parameters = model.ParameterCount,
            });
            publisher.ReportMarket(Market(options, model, inputs, features));
            snapshot = snapshot with
            {
                Epoch = epoch, Step = step, Progress = progress, Loss = summary.TrainLoss, Accuracy = valAccuracy, ValLoss = valLoss,
                ModelPath = modelPath, LastUpdate = DateTimeOffset.UtcNow,
            };
            publisher.Report(snapshot);
        }

        var final = history[^1];
        var finalMetadata = new ModelFileMetadata
        {
            RunId = run.RunId, Model = options.Model, Window = features.Window, Normalization = features.Normalization,
            Epochs = training.Epochs, ValAccuracy = final.ValAccuracy,
        };
        disk.Run(() => { TrainedModel.Save(run.FinalModelPath, model, finalMetadata); return true; }, "the final model", Resumed);
        var completedInfo = run.Info with { State = "completed", Completed = DateTimeOffset.UtcNow, FinalModel = run.FinalModelPath, FinalValAccuracy = final.ValAccuracy };
        disk.Run(() => { run.Save(completedInfo); return true; }, "run.json", Resumed);
        publisher.Report(snapshot with { State = "completed", Epoch = training.Epochs, ModelPath = run.FinalModelPath, EtaSeconds = 0, LastUpdate = DateTimeOffset.UtcNow });
        publisher.Enqueue(Event("completed", "info", $"Run {run.RunId} completed: {training.Epochs} epochs, validation accuracy {final.ValAccuracy:P1}; model at {run.FinalModelPath}.",
            new Dictionary<string, string> { ["model_path"] = run.FinalModelPath }));
        publisher.Flush(TimeSpan.FromSeconds(3));
        return new TrainingOutcome("completed", run.RunId, training.Epochs, step, run.FinalModelPath, history, checkpoint?.Path, deviceName, threads);
    }

    private static TrainingOutcome Stopped(RunDirectory run, StatusPublisher publisher, ProgressSnapshot snapshot, int epochsDone, long step, string? modelPath,
        List<EpochSummary> history, LoadedCheckpoint? resumedFrom, string device, int threads)
    {
        publisher.Report(snapshot with { State = "stopped", EtaSeconds = null, LastUpdate = DateTimeOffset.UtcNow });
        publisher.Enqueue(Event("stopped", "info", $"Training stopped on request after step {step}; it resumes from {Path.GetFileName(modelPath) ?? "the start"}."));
        publisher.Flush(TimeSpan.FromSeconds(3));
        return new TrainingOutcome("stopped", run.RunId, epochsDone, step, modelPath, history, resumedFrom?.Path, device, threads);
    }

    /// <summary>The shuffling order of an epoch: a function of the seed and the epoch alone, so a resume replays it.</summary>
    internal static long[] Permutation(int count, int seed, int epoch)
    {
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        var order = new long[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        for (var i = count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    private static (double Loss, double Accuracy) Validate(MarketModel model, nn.Module<Tensor, Tensor, Tensor> lossFunction, Tensor inputs, Tensor labels, FeatureSet features)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        double lossSum = 0;
        long correct = 0;
        for (var start = features.ValidationStart; start < features.Count; start += ValidationChunk)
        {
            using var scope = torch.NewDisposeScope();
            var size = Math.Min(ValidationChunk, features.Count - start);
            var x = inputs.narrow(0, start, size);
            var y = labels.narrow(0, start, size);
            var logits = model.forward(x);
            lossSum += lossFunction.forward(logits, y).item<float>() * size;
            correct += logits.gt(0).eq(y.gt(0.5f)).sum().item<long>();
        }

        model.train();
        return (lossSum / features.ValidationCount, (double)correct / features.ValidationCount);
    }

    private static MarketData Market(TrainerOptions options, MarketModel model, Tensor inputs, FeatureSet features)
    {
        var count = Math.Min(options.Status.PredictionBars, features.ValidationCount);
        var first = features.Count - count;
        float[] probabilities;
        model.eval();
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            probabilities = model.forward(inputs.narrow(0, first, count)).sigmoid().cpu().data<float>().ToArray();
        }

        model.train();
        var bars = new List<MarketBar>(count);
        var predictions = new List<MarketPrediction>(count);
        for (var i = 0; i < count; i++)
        {
            var bar = features.Bars[features.BarIndex[first + i]];
            bars.Add(bar);
            var p = probabilities[i];
            predictions.Add(new MarketPrediction(bar.Time, Math.Round(p, 4), p > 0.55 ? 1 : p < 0.45 ? -1 : 0));
        }

        return new MarketData
        {
            Symbol = options.Data.Symbol,
            Source = options.Data.Source == "csv" ? options.Data.CsvPath : "synthetic",
            Bars = bars,
            Predictions = predictions,
        };
    }

    private static MetricRecord EpochRecord(string runId, EpochSummary s) => new()
    {
        Time = s.Time, RunId = runId, Kind = "epoch", Epoch = s.Epoch, Step = s.Step, TrainLoss = s.TrainLoss, TrainAccuracy = s.TrainAccuracy,
        ValLoss = s.ValLoss, ValAccuracy = s.ValAccuracy, SamplesPerSec = s.SamplesPerSec, LearningRate = s.LearningRate,
    };

    private static StabilityEvent Event(string type, string severity, string message, IReadOnlyDictionary<string, string>? data = null) => new()
    {
        Time = DateTimeOffset.UtcNow, Service = Service, Type = type, Severity = severity, Message = message, Pid = Environment.ProcessId,
        Host = Environment.MachineName, Data = data,
    };
}
