using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests.Training;

public sealed class TrainingSessionTests
{
    [Fact(Timeout = 300_000)]
    public void Training_on_synthetic_data_beats_chance_by_a_clear_margin()
    {
        using var temp = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 5);

        var outcome = TrainingSession.Run(options, StateDirectory.Open(temp.Path), TestContext.Current.CancellationToken);

        // The generator's regimes make the next bar predictable with accuracy ≈ 0.68 (SyntheticMarket); chance is 0.5.
        var features = FeatureSet.Build(SyntheticMarket.Generate(options.Data.Bars, options.Data.Seed), options.Data.Window, options.Data.ValidationFraction);
        var validationUp = features.Labels.Skip(features.ValidationStart).Average();
        var majority = Math.Max(validationUp, 1 - validationUp);
        var accuracy = outcome.History[^1].ValAccuracy;
        Assert.Equal(TrainerState.Completed, outcome.State);
        Assert.True(accuracy >= 0.57, $"validation accuracy {accuracy:F3} is below 0.57");
        Assert.True(accuracy >= majority + 0.05, $"validation accuracy {accuracy:F3} does not beat always guessing the majority ({majority:F3}) by 0.05");
    }

    [Fact(Timeout = 300_000)]
    public void An_lstm_also_learns_the_signal()
    {
        using var temp = new TempDirectory("st-train");
        var outcome = TrainingSession.Run(TrainerTestConfig.Tiny(epochs: 5, kind: "lstm"), StateDirectory.Open(temp.Path), TestContext.Current.CancellationToken);

        Assert.True(outcome.History[^1].ValAccuracy >= 0.57, $"validation accuracy {outcome.History[^1].ValAccuracy:F3}");
    }

    [Fact(Timeout = 300_000)]
    public void Two_runs_with_the_same_seed_give_the_same_history_and_another_seed_does_not()
    {
        using var a = new TempDirectory("st-train");
        using var b = new TempDirectory("st-train");
        using var c = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 2, bars: 3000);
        var token = TestContext.Current.CancellationToken;

        var first = TrainingSession.Run(options, StateDirectory.Open(a.Path), token);
        var second = TrainingSession.Run(options, StateDirectory.Open(b.Path), token);
        var reseeded = TrainingSession.Run(options with { Training = options.Training with { Seed = 43 } }, StateDirectory.Open(c.Path), token);

        Assert.Equal(first.History.Select(h => (h.TrainLoss, h.ValLoss, h.ValAccuracy)), second.History.Select(h => (h.TrainLoss, h.ValLoss, h.ValAccuracy)));
        Assert.NotEqual(first.History.Select(h => h.TrainLoss), reseeded.History.Select(h => h.TrainLoss));
    }

    [Fact(Timeout = 300_000)]
    public void A_run_stopped_mid_epoch_resumes_and_ends_exactly_where_an_uninterrupted_run_ends()
    {
        using var straight = new TempDirectory("st-train");
        using var interrupted = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 3, bars: 3000);
        var token = TestContext.Current.CancellationToken;

        var reference = TrainingSession.Run(options, StateDirectory.Open(straight.Path), token);

        using var stop = new CancellationTokenSource();
        var state = StateDirectory.Open(interrupted.Path);
        var hooks = new SessionHooks { EpochStarting = (epoch, _) => { if (epoch == 2) { stop.Cancel(); } } };
        var stopped = TrainingSession.Run(options, state, stop.Token, hooks);
        Assert.Equal(TrainerState.Stopped, stopped.State);
        Assert.Equal(1, stopped.EpochsDone);
        Assert.Contains("-b000001", Path.GetFileName(stopped.ModelPath));

        var resumed = TrainingSession.Run(options, state, token);

        Assert.Equal(stopped.ModelPath, resumed.ResumedFrom);
        Assert.Equal(reference.Step, resumed.Step);
        Assert.Equal(reference.History.Select(h => (h.Epoch, h.TrainLoss, h.ValLoss)), resumed.History.Select(h => (h.Epoch, h.TrainLoss, h.ValLoss)));
        var epochs = TrainerTestConfig.Shared(state).Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch);
        Assert.Equal([1, 2, 3], epochs);
    }

    [Fact(Timeout = 300_000)]
    public void A_corrupt_newest_checkpoint_falls_back_to_the_previous_one_with_an_event()
    {
        using var temp = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 4, bars: 3000);
        var state = StateDirectory.Open(temp.Path);
        using var stop = new CancellationTokenSource();
        var hooks = new SessionHooks { EpochStarting = (epoch, _) => { if (epoch == 4) { stop.Cancel(); } } };
        var stopped = TrainingSession.Run(options, state, stop.Token, hooks);
        var newest = stopped.ModelPath!;
        var store = new CheckpointStore(Path.GetDirectoryName(newest)!, keep: 3);
        Assert.Equal(newest, store.List()[0]);
        var previous = store.List()[1];

        // Damage the newest checkpoint in the middle, as a failing disk would.
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);

        var resumed = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);

        Assert.Equal(TrainerState.Completed, resumed.State);
        Assert.Equal(previous, resumed.ResumedFrom);
        Assert.True(File.Exists(newest + ".corrupt"));
        var shared = TrainerTestConfig.Shared(state);
        var fallback = Assert.Single(shared.Events.ReadAll().Records, e => e.Type == "checkpoint_fallback");
        Assert.Equal(EventSeverity.Warning, fallback.Severity);
        Assert.Equal(newest, fallback.Data!["path"]);
        Assert.Equal([1, 2, 3, 4], shared.Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));
    }

    [Fact(Timeout = 300_000)]
    public void A_completed_run_writes_every_status_file_and_a_final_model_that_predicts()
    {
        using var temp = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 2, bars: 3000);
        var state = StateDirectory.Open(temp.Path);

        var outcome = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);

        var shared = TrainerTestConfig.Shared(state);
        var status = shared.ReadTrainingStatus().GetDocumentOrThrow();
        Assert.Equal((TrainerState.Completed, false, 2, 2, outcome.ModelPath), (status.State, status.IsRunning, status.CurrentEpoch, status.TotalEpochs, status.ModelPath));
        Assert.Equal((outcome.Step, outcome.Step, Environment.ProcessId, "cpu", outcome.RunId), (status.Step, status.TotalSteps, status.Pid, status.Device, status.RunId));
        Assert.True(status.Progress >= status.Step);
        Assert.NotNull(status.Heartbeat);
        var metrics = shared.ReadModelMetrics().GetDocumentOrThrow();
        Assert.Equal((2, "mlp"), (metrics.Epoch, metrics.Model));
        Assert.True(metrics.Parameters > 0);
        var market = shared.ReadMarketData().GetDocumentOrThrow();
        Assert.Equal(options.Status.PredictionBars, market.Bars.Count);
        Assert.Equal(market.Bars.Select(b => b.Time), market.Predictions.Select(p => p.Time));
        Assert.All(market.Predictions, p => Assert.InRange(p.ProbabilityUp, 0, 1));

        using var model = TrainedModel.Load(outcome.ModelPath!);
        var bars = SyntheticMarket.Generate(options.Data.Bars, options.Data.Seed);
        var p = model.PredictUp(bars, bars.Count - 1);
        Assert.InRange(p, 0f, 1f);
        Assert.Equal(market.Predictions[^1].ProbabilityUp, model.PredictUp(bars, bars.ToList().IndexOf(market.Bars[^1])), 3);
    }

    [Fact(Timeout = 300_000)]
    public void A_status_file_whose_lock_is_held_elsewhere_delays_status_writes_not_training()
    {
        using var temp = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 2, bars: 3000);
        var state = StateDirectory.Open(temp.Path);

        // Hold training_status.json's writer lock for the whole run, as a stuck writer elsewhere would.
        TrainingOutcome outcome;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (FileLock.Acquire(StatusStore.LockPathFor(state.EnsureRun(TrainerTestConfig.RunId).TrainingStatusPath), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken))
        {
            outcome = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);
            Assert.False(File.Exists(state.Run(TrainerTestConfig.RunId).TrainingStatusPath), "a status write got past the lock");
        }

        // Training finished every step; the only wait was the bounded final flush (3 s) and shutdown (2 s + 2 s).
        Assert.Equal(TrainerState.Completed, outcome.State);
        Assert.Equal(2, outcome.History.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var shared = TrainerTestConfig.Shared(state);
        Assert.Equal(ReadState.Ok, shared.ReadModelMetrics().State); // the other documents were written meanwhile
    }

    [Fact(Timeout = 300_000)]
    public void A_stop_between_epochs_checkpoints_epochs_the_interval_has_not_saved_yet()
    {
        using var temp = new TempDirectory("st-train");
        var tiny = TrainerTestConfig.Tiny(epochs: 3, bars: 3000);
        var options = tiny with { Checkpointing = tiny.Checkpointing with { IntervalEpochs = 2 } };
        var features = FeatureSet.Build(SyntheticMarket.Generate(options.Data.Bars, options.Data.Seed), options.Data.Window, options.Data.ValidationFraction);
        var batchesPerEpoch = (features.TrainCount + options.Training.BatchSize - 1) / options.Training.BatchSize;
        var state = StateDirectory.Open(temp.Path);
        using var stop = new CancellationTokenSource();

        // Stop on the last step of epoch 1: the epoch ends, and interval 2 would not checkpoint it.
        var hooks = new SessionHooks { StepCompleted = (step, _) => { if (step == batchesPerEpoch) { stop.Cancel(); } } };
        var stopped = TrainingSession.Run(options, state, stop.Token, hooks);

        Assert.Equal((TrainerState.Stopped, 1), (stopped.State, stopped.EpochsDone));
        Assert.Equal("ckpt-e00001-b000000.ckpt", Path.GetFileName(stopped.ModelPath));
        var shared = TrainerTestConfig.Shared(state);
        Assert.Equal([1], shared.Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));

        var resumed = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);
        Assert.Equal(stopped.ModelPath, resumed.ResumedFrom);
        Assert.Equal([1, 2, 3], shared.Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));
    }

    [Fact(Timeout = 300_000)]
    public void Metric_records_whose_append_failed_are_written_once_the_log_is_free_again()
    {
        using var temp = new TempDirectory("st-train");
        var tiny = TrainerTestConfig.Tiny(epochs: 4, bars: 3000);
        var options = tiny with { Status = tiny.Status with { LockTimeout = TimeSpan.FromMilliseconds(20) } };
        var state = StateDirectory.Open(temp.Path);
        var shared = TrainerTestConfig.Shared(state);

        // Another writer holds metrics.jsonl until epoch 4 starts: the appends before time out and must be retried.
        var held = FileLock.Acquire(StatusStore.LockPathFor(state.EnsureRun(TrainerTestConfig.RunId).MetricsLogPath), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        var failuresWhileHeld = 0;
        var hooks = new SessionHooks
        {
            EpochStarting = (epoch, publisher) =>
            {
                if (epoch == 4)
                {
                    publisher.Flush(TimeSpan.FromSeconds(5)); // at least one more attempt against the held lock
                    failuresWhileHeld = publisher.Failures;
                    held.Dispose();
                }
            },
        };
        try
        {
            TrainingSession.Run(options, state, TestContext.Current.CancellationToken, hooks);
        }
        finally
        {
            held.Dispose();
        }

        Assert.True(failuresWhileHeld > 0, "no append failed while the log was held");

        var records = shared.Metrics.ReadAll().Records;
        Assert.Equal([1, 2, 3, 4], records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));
        var steps = records.Where(r => r.Kind == MetricKind.Step).Select(r => r.Step).ToList();
        Assert.NotEmpty(steps);
        Assert.Equal(steps.Order().Distinct(), steps);
        Assert.Contains(steps, s => s <= options.Status.StepSampleEvery * 2); // early records survived the failed appends
    }

    [Fact(Timeout = 300_000)]
    public void Cuda_requested_without_a_cuda_device_trains_on_the_cpu_with_a_warning_event()
    {
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Skip("This machine has CUDA; the fallback cannot be observed.");
        }

        using var temp = new TempDirectory("st-train");
        var tiny = TrainerTestConfig.Tiny(epochs: 1, bars: 3000);
        var state = StateDirectory.Open(temp.Path);

        var outcome = TrainingSession.Run(tiny with { Training = tiny.Training with { Device = "cuda" } }, state, TestContext.Current.CancellationToken);

        Assert.Equal("cpu", outcome.Device);
        var fallback = Assert.Single(TrainerTestConfig.Shared(state).Events.ReadAll().Records, e => e.Type == "device_fallback");
        Assert.Equal(EventSeverity.Warning, fallback.Severity);
    }

    [Fact(Timeout = 300_000)]
    public void Starting_a_completed_run_again_reports_it_completed_without_training()
    {
        using var temp = new TempDirectory("st-train");
        var options = TrainerTestConfig.Tiny(epochs: 2, bars: 3000);
        var state = StateDirectory.Open(temp.Path);
        var first = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);
        var modelWritten = File.GetLastWriteTimeUtc(first.ModelPath!);

        var again = TrainingSession.Run(options, state, TestContext.Current.CancellationToken);

        Assert.Equal((TrainerState.Completed, first.RunId, first.ModelPath), (again.State, again.RunId, again.ModelPath));
        Assert.Empty(again.History); // nothing was trained
        Assert.Equal(modelWritten, File.GetLastWriteTimeUtc(first.ModelPath!));
        var shared = TrainerTestConfig.Shared(state);
        Assert.Equal([1, 2], shared.Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));
        var status = shared.ReadTrainingStatus().GetDocumentOrThrow();
        // What the run ended with, not zeros (issue #17: a restarted completed run reported loss 0).
        Assert.Equal((TrainerState.Completed, first.History[^1].TrainLoss, first.History[^1].ValAccuracy), (status.State, status.Loss, status.Accuracy));
        var record = shared.ReadRun(first.RunId).GetDocumentOrThrow();
        Assert.Equal((RunStates.Completed, 2, 2, first.History[^1].ValAccuracy), (record.State, record.Attempts, record.Epochs, record.Final["val_accuracy"]));
        Assert.Equal(0.001, record.Parameters["training.learning_rate"].GetDouble(), 6);

        // Another run id is another run, trained from the start, beside the first.
        var other = TrainingSession.Run(options with { RunId = "other-run", Training = options.Training with { Seed = 5 } }, state, TestContext.Current.CancellationToken);
        Assert.NotEqual(first.RunId, other.RunId);
        Assert.Equal(2, other.History.Count);
        Assert.Equal(TrainerState.Completed, new SharedDataManager(state, run: state.Run(first.RunId)).ReadTrainingStatus().GetDocumentOrThrow().State);
    }

    [Fact(Timeout = 300_000)]
    public void An_explicit_run_id_started_with_another_configuration_is_a_configuration_error()
    {
        using var temp = new TempDirectory("st-train");
        var tiny = TrainerTestConfig.Tiny(epochs: 1, bars: 3000) with { RunId = "my-run" };
        var state = StateDirectory.Open(temp.Path);
        TrainingSession.Run(tiny, state, TestContext.Current.CancellationToken);

        var error = Assert.Throws<Engine.Errors.ConfigurationException>(() =>
            TrainingSession.Run(tiny with { Training = tiny.Training with { Epochs = 2 } }, state, TestContext.Current.CancellationToken));

        Assert.Equal("run_id", Assert.Single(error.Problems).Key);
        Assert.Contains("'my-run' was started with a different configuration", error.Message);
    }
}
