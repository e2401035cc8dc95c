using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// One trainer process's work on a run: load data, open the run, then hand over to a <see cref="TrainingLoop"/> that
/// resumes from the newest valid checkpoint (or starts) and trains the remaining epochs; report how it ended.
/// </summary>
/// <remarks>
/// Exactly-once epoch history: an epoch's record goes to <c>metrics.jsonl</c> only after a checkpoint that contains
/// the epoch is durable, and every checkpoint carries the whole epoch history. A restarted trainer re-queues that
/// history and the status publisher skips epochs the log already has, so a kill at any instant neither loses nor
/// doubles an epoch; epochs after the checkpoint resumed from are retrained and recorded once.
/// </remarks>
internal static class TrainingSession
{
    /// <summary>Runs the session to completion or until <paramref name="stop"/> is cancelled.</summary>
    /// <param name="options">The trainer's settings.</param>
    /// <param name="state">The state directory written.</param>
    /// <param name="stop">Cancelled for a graceful stop: the step in progress finishes and is checkpointed.</param>
    /// <param name="hooks">Observation points for tests and benchmarks.</param>
    /// <param name="events">The events' service name; default <see cref="TrainerEvents.Default"/> (<c>training</c>).</param>
    /// <exception cref="Engine.Errors.ConfigurationException">The run conflicts with the configuration.</exception>
    /// <exception cref="MarketDataException">The CSV cannot be used.</exception>
    public static TrainingOutcome Run(TrainerOptions options, StateDirectory state, CancellationToken stop, SessionHooks? hooks = null, TrainerEvents? events = null)
    {
        events ??= TrainerEvents.Default;

        // Everything that can reject the input happens before anything is written.
        var bars = options.Data.Source == "csv"
            ? OhlcvCsvLoader.Load(options.Data.CsvPath!, FeatureSet.MinimumBars(options.Data.Window))
            : SyntheticMarket.Generate(options.Data.Bars, options.Data.Seed);
        var features = FeatureSet.Build(bars, options.Data.Window, options.Data.ValidationFraction);

        TorchRuntime.EnsureInitialized();
        using var run = RunDirectory.Open(state, options, options.RunId ?? StateDirectory.NewRunId(DateTimeOffset.UtcNow), events.Service, TimeSpan.FromSeconds(15), stop);
        var shared = new SharedDataManager(state,
            new StatusStoreOptions { Fsync = options.Status.Fsync, LockTimeout = options.Status.LockTimeout },
            new JsonLinesOptions { LockTimeout = options.Status.LockTimeout }, run.Paths);
        var device = DeviceSelection.Select(options.Training.Device, out var fallback);
        var plan = new TrainingPlan(options, features, device, device.type == DeviceType.CUDA ? $"cuda:{device.index}" : "cpu",
            DeviceSelection.ApplyThreads(options.Training.Threads));
        run.RecordDevice(plan.DeviceName);

        using var publisher = new StatusPublisher(shared, run.RunId, plan.DeviceName, TimeSpan.FromMilliseconds(options.Status.WriteIntervalMs),
            options.Status.Enabled, hooks?.StatusWriter);
        var snapshot = new ProgressSnapshot { State = TrainerState.Starting, TotalEpochs = options.Training.Epochs, TotalSteps = plan.TotalSteps, LastUpdate = DateTimeOffset.UtcNow };
        publisher.Report(snapshot);
        if (fallback is not null)
        {
            publisher.Enqueue(events.Create("device_fallback", EventSeverity.Warning, $"Training on CPU: {fallback}."));
        }

        if (run.Info.State == RunStates.Completed && File.Exists(run.FinalModelPath))
        {
            return ReportCompletedAgain(plan, run, publisher, snapshot);
        }

        try
        {
            using var loop = new TrainingLoop(plan, run, publisher, snapshot, events, stop, hooks);
            var outcome = loop.Run();
            if (outcome.State == TrainerState.Stopped)
            {
                TryEnd(run, RunStates.Stopped, outcome.History);
            }

            return outcome;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped while paused on a full disk: the newest durable checkpoint is where the run resumes.
            publisher.Report((publisher.Latest ?? snapshot) with { State = TrainerState.Stopped, EtaSeconds = null, LastUpdate = DateTimeOffset.UtcNow });
            publisher.Flush(TimeSpan.FromSeconds(1));
            TryEnd(run, RunStates.Stopped, []);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            publisher.Report((publisher.Latest ?? snapshot) with { State = TrainerState.Failed, ErrorMessage = ex.Message, LastUpdate = DateTimeOffset.UtcNow });
            publisher.Enqueue(events.Create("failed", EventSeverity.Error, $"Training failed: {ex.Message}"));
            publisher.Flush(TimeSpan.FromSeconds(3));
            TryEnd(run, RunStates.Failed, [], ex.Message);
            throw;
        }
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

    /// <summary>Records the end in run.json; a failure to (a full disk) loses only the record, never the run's checkpoints.</summary>
    private static void TryEnd(RunDirectory run, string state, IReadOnlyList<EpochSummary> history, string? error = null)
    {
        try
        {
            run.End(state, history, error: error);
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or IOException)
        {
            Console.Error.WriteLine($"stability-trainer: could not record the end of run {run.RunId} in run.json: {ex.Message}");
        }
    }

    /// <summary>Killed after finishing but before exiting: reports completion again and trains nothing.</summary>
    private static TrainingOutcome ReportCompletedAgain(TrainingPlan plan, RunDirectory run, StatusPublisher publisher, ProgressSnapshot snapshot)
    {
        var epochs = plan.Options.Training.Epochs;
        publisher.Report(snapshot with
        {
            // The final figures from run.json: a restart of a finished run reports what it ended with, not zeros.
            State = TrainerState.Completed, Epoch = epochs, Step = plan.TotalSteps, Progress = plan.TotalSteps,
            Accuracy = run.Info.Final.GetValueOrDefault("val_accuracy"), Loss = run.Info.Final.GetValueOrDefault("train_loss"),
            ValLoss = run.Info.Final.TryGetValue("val_loss", out var valLoss) ? valLoss : null, ModelPath = run.FinalModelPath,
        });
        publisher.Flush(TimeSpan.FromSeconds(3));
        return new TrainingOutcome(TrainerState.Completed, run.RunId, epochs, plan.TotalSteps, run.FinalModelPath, [], null, plan.DeviceName, plan.Threads);
    }
}
