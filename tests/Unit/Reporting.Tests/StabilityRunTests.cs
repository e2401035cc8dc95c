using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Reporting.Tests;

/// <summary><see cref="StabilityRun"/>'s reporting, heartbeat, stop and end on a real state directory.</summary>
public sealed class StabilityRunTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-report");

    public void Dispose() => _dir.Dispose();

    private StabilityRunOptions Options(string runId = "r1", int heartbeatMs = 50) => new()
    {
        StateDirectory = _dir.Path, RunId = runId, TotalEpochs = 3, StepsPerEpoch = 2, HandleSignals = false,
        HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeatMs), Environment = _ => null,
    };

    private SharedDataManager Shared(string runId = "r1")
    {
        var state = StateDirectory.Open(_dir.Path);
        return new SharedDataManager(state, run: state.Run(runId));
    }

    [Fact(Timeout = 300_000)]
    public void An_epoch_is_recorded_once_in_the_life_of_the_run_with_its_custom_scalars()
    {
        using (var run = StabilityRun.Open(Options()))
        {
            Assert.True(run.Log(1, loss: 0.5, valAccuracy: 0.6, scalars: new Dictionary<string, double> { ["grad_norm"] = 0.25 }));
            Assert.False(run.Log(1, loss: 0.4), "a second record of epoch 1 in the same life");
        }

        // A later life (after a kill between the log and the checkpoint) retrains epoch 1 and logs it again: nothing is written.
        using (var again = StabilityRun.Open(Options()))
        {
            Assert.Equal(1, again.LastEpoch);
            Assert.False(again.Log(1, loss: 0.3));
            Assert.True(again.Log(2, loss: 0.2, valAccuracy: 0.7, scalars: new Dictionary<string, double> { ["grad_norm"] = 0.125 }));
        }

        var records = Shared().Metrics.ReadAll().Records.Where(r => r.Kind == MetricKind.Epoch).ToList();
        Assert.Equal([1, 2], records.Select(r => r.Epoch));
        Assert.Equal(0.5, records[0].TrainLoss);
        Assert.Equal(0.25, records[0].Scalars!["grad_norm"]);
        var info = Shared().ReadRun("r1").Document!;
        Assert.Equal(0.125, info.Final["grad_norm"]);
        Assert.Equal(0.25, info.Best["grad_norm"]);
        Assert.Equal(0.2, info.Best["train_loss"]);
        Assert.Equal(0.7, info.Best["val_accuracy"]);
        Assert.Equal(2, info.Epochs);
    }

    [Fact(Timeout = 300_000)]
    public void Parameters_land_in_run_json_as_dotted_keys_and_a_resume_with_a_changed_one_is_refused_naming_it()
    {
        using (var run = StabilityRun.Open(Options()))
        {
            run.Params(new Dictionary<string, object?> { ["lr"] = 0.05, ["optimizer"] = new Dictionary<string, object?> { ["name"] = "sgd", ["momentum"] = 0.9 } });
        }

        var parameters = Shared().ReadRun("r1").Document!.Parameters;
        Assert.Equal(0.05, parameters["lr"].GetDouble());
        Assert.Equal("sgd", parameters["optimizer.name"].GetString());
        Assert.Equal(0.9, parameters["optimizer.momentum"].GetDouble());

        using var again = StabilityRun.Open(Options());
        var refused = Assert.Throws<ConfigurationException>(() => again.Params(new Dictionary<string, object?> { ["lr"] = 0.1 }));
        Assert.Equal("lr", Assert.Single(refused.Problems).Key);
        Assert.Equal(0.05, Shared().ReadRun("r1").Document!.Parameters["lr"].GetDouble());
    }

    [Fact(Timeout = 300_000)]
    public void The_heartbeat_thread_keeps_the_status_fresh_while_the_training_thread_makes_no_progress()
    {
        using var run = StabilityRun.Open(Options(heartbeatMs: 50));
        run.Step(loss: 0.9);
        var shared = Shared();
        var first = WaitFor(() => shared.ReadTrainingStatus().Document, s => s.Progress == 1, "a status with progress 1");

        // No call on this thread: only the heartbeat thread can write a newer heartbeat.
        var later = WaitFor(() => shared.ReadTrainingStatus().Document, s => s.Heartbeat > first.Heartbeat && s.Seq > first.Seq, "a newer heartbeat");
        Assert.Equal(1, later.Progress);
        Assert.Equal(TrainerState.Running, later.State);
        Assert.Equal(Environment.ProcessId, later.Pid);
        Assert.Equal(0.9, later.Loss);
    }

    [Fact(Timeout = 300_000)]
    public void A_run_ends_completed_after_its_last_epoch_and_stopped_when_a_stop_cut_it_short()
    {
        using (var run = StabilityRun.Open(Options("done")))
        {
            foreach (var epoch in run.Epochs())
            {
                run.Step();
                run.Log(epoch, loss: 1.0 / epoch);
            }
        }

        Assert.Equal(RunStates.Completed, Shared("done").ReadRun("done").Document!.State);
        Assert.Equal(TrainerState.Completed, Shared("done").ReadTrainingStatus().Document!.State);

        var exit = StabilityRun.Execute(Options("cut"), run =>
        {
            foreach (var epoch in run.Epochs())
            {
                run.Step();
                run.Log(epoch, loss: 1.0);
                run.RequestStop();
                run.Step(); // a stop point: throws
            }
        });
        Assert.Equal(StopSignals.TerminatedExitCode, exit);
        var cut = Shared("cut").ReadRun("cut").Document!;
        Assert.Equal(RunStates.Stopped, cut.State);
        Assert.Equal(1, cut.Epochs);
    }

    [Fact(Timeout = 300_000)]
    public void A_run_disposed_short_of_its_last_epoch_with_no_stop_reads_failed_never_completed()
    {
        try
        {
            using var run = StabilityRun.Open(Options("left"));
            run.Log(1, loss: 1.0);
            throw new InvalidOperationException("out of memory on the GPU");
        }
        catch (InvalidOperationException)
        {
            // What a user's `using` block does not see: the run ends in Dispose all the same.
        }

        var info = Shared("left").ReadRun("left").Document!;
        Assert.Equal(RunStates.Failed, info.State);
        Assert.Contains("epoch 1 of 3", info.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(TrainerState.Failed, Shared("left").ReadTrainingStatus().Document!.State);
    }

    [Fact(Timeout = 300_000)]
    public void Execute_records_a_failure_with_its_message_and_returns_1()
    {
        var exit = StabilityRun.Execute(Options("bad"), _ => throw new InvalidOperationException("the loss went NaN"));

        Assert.Equal(1, exit);
        var info = Shared("bad").ReadRun("bad").Document!;
        Assert.Equal(RunStates.Failed, info.State);
        Assert.Equal("InvalidOperationException: the loss went NaN", info.ErrorMessage);
        Assert.Single(Shared("bad").Events.ReadAll().Records, e => e.Type == "failed" && e.Severity == EventSeverity.Error);
    }

    [Fact(Timeout = 300_000)]
    public void A_second_trainer_of_the_same_run_waits_for_the_first_and_gives_up_with_a_lock_timeout()
    {
        using var first = StabilityRun.Open(Options());
        Assert.Throws<LockTimeoutException>(() => StabilityRun.Open(Options() with { RunLockTimeout = TimeSpan.FromMilliseconds(200) }));
    }

    [Fact(Timeout = 300_000)]
    public async Task SIGTERM_cancels_the_stop_token_and_the_trainer_records_the_stop_and_exits_143()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals.");
        var info = new ProcessStartInfo(TestPrograms.DotNetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(TestPrograms.Metadata("UserTrainerPath"));
        foreach (var a in new[] { "--epochs", "1000", "--steps", "10", "--step-delay", "0.01" })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["STABILITY_HOME"] = _dir.Path;
        info.Environment["STABILITY_RUN_ID"] = "sig";
        info.Environment["STABILITY_SERVICE"] = "mine";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var shared = Shared("sig");
        WaitFor(() => shared.ReadTrainingStatus().Document, s => s.Pid == process.Id && s.Progress >= 15, "the trainer 15 steps in");

        Assert.Equal(0, Kill(process.Id, 15));
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the trainer did not exit within 60 s of SIGTERM");

        Assert.Equal(StopSignals.TerminatedExitCode, process.ExitCode);
        var run = shared.ReadRun("sig").Document!;
        Assert.Equal(RunStates.Stopped, run.State);
        Assert.Equal(TrainerState.Stopped, shared.ReadTrainingStatus().Document!.State);
        var stopped = Assert.Single(shared.Events.ReadAll().Records, e => e.Type == "stopped");
        Assert.Equal("mine", stopped.Service);
        Assert.True(run.Epochs >= 1, $"epochs recorded: {run.Epochs}; stderr: {await stderr}");
        Assert.NotEmpty(Directory.GetFiles(shared.Run!.Directory, "ckpt-*.ckpt"));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static T WaitFor<T>(Func<T?> read, Func<T, bool> done, string what, int seconds = 60)
        where T : class
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            if (read() is { } value && done(value))
            {
                return value;
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"Timed out after {seconds} s waiting for {what}.");
    }
}
