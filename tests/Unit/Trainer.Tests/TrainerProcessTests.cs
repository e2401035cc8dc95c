using System.Diagnostics;
using System.Runtime.InteropServices;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests;

/// <summary>The real trainer executable, run as a separate process and killed or signalled for real.</summary>
public sealed partial class TrainerProcessTests
{
    private static readonly TimeSpan ProgressTimeout = TimeSpan.FromSeconds(90);

    private static Process StartTrainer(TempDirectory temp, string configPath) =>
        TestPrograms.Start(TestPrograms.Metadata("TrainerPath"), ["--state-dir", temp.File("state"), "--config", configPath]);

    /// <summary>A run long enough to be killed several times: epochs of 0.1–0.5 s each on this machine.</summary>
    private static string LongRunConfig(TempDirectory temp, int epochs) => TrainerTestConfig.Write(temp.Path, new
    {
        data = new { bars = 6000, window = 16 },
        model = new { kind = "mlp", hidden_size = 32, layers = 2 },
        training = new { epochs, batch_size = 64, threads = 1 },
        checkpointing = new { interval_epochs = 1, keep = 2 },
        status = new { write_interval_ms = 50, step_sample_every = 25 },
    });

    /// <summary>Polls training_status.json until <paramref name="condition"/> holds for a document this process wrote.</summary>
    private static TrainingStatus WaitForStatus(SharedDataManager shared, Process process, Func<TrainingStatus, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var status = shared.ReadTrainingStatus().Document;
            if (status is not null && status.Pid == process.Id && condition(status))
            {
                return status;
            }

            if (process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"The trainer exited ({process.ExitCode}) before the expected status: {process.StandardError.ReadToEnd()}");
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"No matching training status within {timeout}.");
    }

    private static void KillAndReap(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        Assert.True(process.WaitForExit(10_000), "the trainer did not die");
    }

    [Fact(Timeout = 600_000)]
    public void A_trainer_killed_at_random_moments_resumes_and_completes_with_every_epoch_recorded_once()
    {
        const int epochs = 40;
        using var temp = new TempDirectory("st-kill");
        var config = LongRunConfig(temp, epochs);
        var seed = Environment.TickCount;
        TestContext.Current.TestOutputHelper?.WriteLine($"kill schedule seed {seed}");
        var random = new Random(seed);
        var state = StateDirectory.Open(temp.File("state"));
        var shared = TrainerTestConfig.Shared(state);

        // Four kills: three at a random moment after the incarnation has written a checkpoint of its own (so the run
        // moves on and every later incarnation resumes), and one early, at a random moment of start-up (loading
        // TorchSharp, the data, the checkpoint).
        var kills = 0;
        string? lastCheckpoint = null;
        while (kills < 4)
        {
            var early = kills == 1;
            var trainer = StartTrainer(temp, config);
            try
            {
                if (early)
                {
                    Thread.Sleep(random.Next(50, 1500));
                }
                else
                {
                    var seen = WaitForStatus(shared, trainer, s => s.State == TrainerState.Running && s.ModelPath is not null && s.ModelPath != lastCheckpoint, ProgressTimeout);
                    lastCheckpoint = seen.ModelPath;
                    Thread.Sleep(random.Next(0, 400));
                }

                if (trainer.HasExited)
                {
                    Assert.Fail($"the trainer exited ({trainer.ExitCode}) before kill {kills + 1}; make the run longer");
                }

                trainer.Kill();
                Assert.True(trainer.WaitForExit(10_000));
                kills++;
            }
            finally
            {
                KillAndReap(trainer);
                trainer.Dispose();
            }
        }

        using (var last = StartTrainer(temp, config))
        {
            try
            {
                Assert.True(last.WaitForExit((int)TimeSpan.FromMinutes(3).TotalMilliseconds), "the resumed run did not complete in time");
                Assert.True(last.ExitCode == 0, $"exit code {last.ExitCode}: {last.StandardError.ReadToEnd()}");
            }
            finally
            {
                KillAndReap(last);
            }
        }

        var status = shared.ReadTrainingStatus();
        Assert.Equal(ReadState.Ok, status.State);
        Assert.Equal((TrainerState.Completed, epochs), (status.Document!.State, status.Document.CurrentEpoch));
        Assert.Equal(ReadState.Ok, shared.ReadModelMetrics().State);
        Assert.Equal(ReadState.Ok, shared.ReadMarketData().State);

        var metrics = shared.Metrics.ReadAll();
        Assert.Equal(0, metrics.SkippedLines);
        var runRecords = metrics.Records.Where(r => r.RunId == status.Document.RunId).ToList();
        Assert.Equal(Enumerable.Range(1, epochs), runRecords.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch));
        var steps = runRecords.Where(r => r.Kind == MetricKind.Step).Select(r => r.Step).ToList();
        Assert.Equal(steps.Order(), steps);
        Assert.Equal(steps.Distinct().Count(), steps.Count);

        var events = shared.Events.ReadAll();
        Assert.Equal(0, events.SkippedLines);
        Assert.True(events.Records.Count(e => e.Type == "resumed") >= 3, "fewer than 3 resumes were recorded");
        Assert.Single(events.Records, e => e.Type == "completed");

        var runDirectory = Path.GetDirectoryName(status.Document.ModelPath)!;
        var checkpoints = new CheckpointStore(runDirectory, keep: 2).List();
        Assert.Equal(2, checkpoints.Count);
        Assert.All(checkpoints, c => CheckpointFile.Read(c)); // every checkpoint left verifies
        Assert.Empty(Directory.EnumerateFiles(runDirectory, "*.tmp-*"));

        using var model = TrainedModel.Load(status.Document.ModelPath!);
        var bars = SyntheticMarket.Generate(6000, seed: 7);
        Assert.Equal(epochs, model.Metadata.Epochs);
        Assert.InRange(model.PredictUp(bars, bars.Count - 1), 0f, 1f);
        Assert.True(model.Metadata.ValAccuracy > 0.55, $"validation accuracy {model.Metadata.ValAccuracy:F3}");
    }

    [Fact(Timeout = 600_000)]
    public void SIGTERM_stops_the_trainer_within_the_stop_timeout_with_a_checkpoint_and_a_stopped_status()
    {
        using var temp = new TempDirectory("st-term");
        var config = LongRunConfig(temp, epochs: 200);
        var shared = TrainerTestConfig.Shared(StateDirectory.Open(temp.File("state")));
        using var trainer = StartTrainer(temp, config);
        try
        {
            WaitForStatus(shared, trainer, s => s.State == TrainerState.Running && s.Step > 0, ProgressTimeout);

            var clock = Stopwatch.StartNew();
            Assert.Equal(0, Kill(trainer.Id, 15 /* SIGTERM */));
            Assert.True(trainer.WaitForExit(10_000), "the trainer did not stop within 10 s");
            TestContext.Current.TestOutputHelper?.WriteLine($"stopped in {clock.ElapsedMilliseconds} ms");

            Assert.Equal(143, trainer.ExitCode);
            var status = shared.ReadTrainingStatus().GetDocumentOrThrow();
            Assert.Equal((TrainerState.Stopped, false), (status.State, status.IsRunning));
            Assert.True(File.Exists(status.ModelPath), $"no checkpoint at {status.ModelPath}");
            Assert.Contains(shared.Events.ReadAll().Records, e => e.Type == "stopped");
        }
        finally
        {
            KillAndReap(trainer);
        }
    }

    [Fact(Timeout = 600_000)]
    public void A_bad_config_exits_with_one_clear_error_naming_file_line_and_key_and_trains_nothing()
    {
        using var temp = new TempDirectory("st-badcfg");
        var config = temp.File("trainer.json");
        File.WriteAllText(config, "{\n  \"training\": {\n    \"epochs\": -3\n  }\n}\n");
        using var trainer = StartTrainer(temp, config);
        try
        {
            Assert.True(trainer.WaitForExit(60_000));
            var stderr = trainer.StandardError.ReadToEnd();

            Assert.Equal(78, trainer.ExitCode);
            Assert.Contains($"{config}:3: 'training:epochs': '-3' is not allowed", stderr);
            // Nothing trained: no checkpoint and no model in any run's folder, only the failure's record.
            Assert.DoesNotContain(Directory.EnumerateFiles(temp.File("state", "runs"), "*", SearchOption.AllDirectories), f => f.EndsWith(".ckpt", StringComparison.Ordinal) || f.EndsWith(".bin", StringComparison.Ordinal));
            var status = TrainerTestConfig.Shared(StateDirectory.Open(temp.File("state"))).ReadTrainingStatus().GetDocumentOrThrow();
            Assert.Equal(TrainerState.Failed, status.State);
            Assert.Contains("training:epochs", status.ErrorMessage);
        }
        finally
        {
            KillAndReap(trainer);
        }
    }

    [Fact(Timeout = 600_000)]
    public void A_malformed_csv_exits_with_an_error_naming_the_file_and_line()
    {
        using var temp = new TempDirectory("st-badcsv");
        var csv = temp.File("bars.csv");
        var lines = SyntheticMarket.Generate(400, seed: 1)
            .Select(b => $"{b.Time:O},{b.Open},{b.High},{b.Low},{b.Close},{b.Volume}")
            .Prepend("timestamp,open,high,low,close,volume")
            .ToList();
        lines[57] = lines[57].Replace(',', ';');
        File.WriteAllLines(csv, lines);
        var config = TrainerTestConfig.Write(temp.Path, new { data = new { source = "csv", csv_path = "bars.csv", window = 8 } });
        using var trainer = StartTrainer(temp, config);
        try
        {
            Assert.True(trainer.WaitForExit(60_000));
            var stderr = trainer.StandardError.ReadToEnd();

            Assert.Equal(78, trainer.ExitCode);
            Assert.Contains($"{csv}:58:", stderr);
            // Nothing trained: no checkpoint and no model in any run's folder, only the failure's record.
            Assert.DoesNotContain(Directory.EnumerateFiles(temp.File("state", "runs"), "*", SearchOption.AllDirectories), f => f.EndsWith(".ckpt", StringComparison.Ordinal) || f.EndsWith(".bin", StringComparison.Ordinal));
        }
        finally
        {
            KillAndReap(trainer);
        }
    }

    [Fact(Timeout = 600_000)]
    public void A_trainer_run_as_another_service_writes_its_events_under_that_name()
    {
        using var temp = new TempDirectory("st-service");
        var config = TrainerTestConfig.Write(temp.Path, new
        {
            data = new { bars = 3000, window = 16 },
            model = new { kind = "mlp", hidden_size = 32, layers = 2 },
            training = new { epochs = 1, batch_size = 64, threads = 1 },
            status = new { write_interval_ms = 50 },
        });

        // What the supervisor of `Start-TrainingProcess -Name exp2` puts in the trainer's environment.
        using var trainer = TestPrograms.Start(TestPrograms.Metadata("TrainerPath"), ["--state-dir", temp.File("state"), "--config", config],
            new Dictionary<string, string> { ["STABILITY_SERVICE"] = "exp2" });
        try
        {
            Assert.True(trainer.WaitForExit((int)TimeSpan.FromMinutes(2).TotalMilliseconds), "the trainer did not finish in time");
            Assert.True(trainer.ExitCode == 0, $"exit code {trainer.ExitCode}: {trainer.StandardError.ReadToEnd()}");

            var events = TrainerTestConfig.Shared(StateDirectory.Open(temp.File("state"))).Events.ReadAll().Records;
            Assert.Contains(events, e => e.Type == "started");
            Assert.Contains(events, e => e.Type == "completed");
            Assert.All(events, e => Assert.Equal("exp2", e.Service));
        }
        finally
        {
            KillAndReap(trainer);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
