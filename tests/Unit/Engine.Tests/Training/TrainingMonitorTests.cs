using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Training;

public sealed class TrainingMonitorTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(20);

    private const string RunId = "run-1";

    private static (StateDirectory State, SharedDataManager Shared, TrainingMonitor Monitor) Open(TempDirectory temp)
    {
        var state = StateDirectory.Open(temp.Path);
        return (state, new SharedDataManager(state, run: state.EnsureRun(RunId)), new TrainingMonitor(state) { PollInterval = TimeSpan.FromMilliseconds(20) });
    }

    private static void WriteService(StateDirectory state, SharedDataManager shared, ServiceState serviceState)
    {
        state.EnsureServiceDirectory(TrainingMonitor.ServiceName);
        shared.Store.Write(state.ServiceStatusPath(TrainingMonitor.ServiceName), new ProcessStatus { Name = TrainingMonitor.ServiceName, Kind = "training", Status = serviceState, RunId = RunId });
    }

    private sealed class Collect : IProgress<TrainingStatusReport>
    {
        public List<TrainingStatusReport> Reports { get; } = [];

        public void Report(TrainingStatusReport value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_status_is_reported_as_a_state_not_an_error()
    {
        using var temp = new TempDirectory();
        var report = new TrainingMonitor(StateDirectory.Locate(temp.File("absent"))).GetStatus();

        Assert.Equal(ReadState.Missing, report.ReadState);
        Assert.Equal("missing", report.State);
        Assert.Null(report.Status);
    }

    [Fact(Timeout = 120_000)]
    public async Task Waiting_reports_progress_and_returns_the_completed_status()
    {
        using var temp = new TempDirectory();
        var (_, shared, monitor) = Open(temp);
        shared.WriteTrainingStatus(new TrainingStatus { State = TrainerState.Running, CurrentEpoch = 1, TotalEpochs = 2, Step = 5, TotalSteps = 10, Heartbeat = DateTimeOffset.UtcNow });
        var progress = new Collect();

        var wait = monitor.WaitAsync(TestTimeout, progress, TestContext.Current.CancellationToken);
        await WaitUntil(() => progress.Reports.Count >= 1);
        shared.WriteTrainingStatus(new TrainingStatus { State = TrainerState.Completed, CurrentEpoch = 2, TotalEpochs = 2, Step = 10, TotalSteps = 10, ModelPath = "/m" });
        var final = await wait.WaitAsync(TestTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(("completed", 2, "/m"), (final.State, final.Epoch, final.ModelPath));
        Assert.Equal(0.5, progress.Reports[0].PercentComplete);
        Assert.NotNull(progress.Reports[0].HeartbeatAge);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_failed_trainer_without_a_supervisor_ends_the_wait_with_its_error()
    {
        using var temp = new TempDirectory();
        var (_, shared, monitor) = Open(temp);
        shared.WriteTrainingStatus(new TrainingStatus { State = TrainerState.Failed, ErrorMessage = "trainer.json:3: 'training:epochs': bad" });

        var error = await Assert.ThrowsAsync<TrainingFailedException>(() => monitor.WaitAsync(TestTimeout, null, TestContext.Current.CancellationToken));

        Assert.Equal("TrainingFailed", error.ErrorId);
        Assert.Contains("training:epochs", error.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task While_a_supervisor_restarts_a_failed_trainer_the_wait_goes_on_until_it_is_fatal()
    {
        using var temp = new TempDirectory();
        var (state, shared, monitor) = Open(temp);
        shared.WriteTrainingStatus(new TrainingStatus { State = TrainerState.Failed, ErrorMessage = "boom" });
        WriteService(state, shared, ServiceState.Backoff);
        var progress = new Collect();

        var wait = monitor.WaitAsync(TestTimeout, progress, TestContext.Current.CancellationToken);
        await WaitUntil(() => progress.Reports.Count >= 1);
        Assert.False(wait.IsCompleted);
        WriteService(state, shared, ServiceState.Fatal);

        var error = await Assert.ThrowsAsync<TrainingFailedException>(() => wait.WaitAsync(TestTimeout, TestContext.Current.CancellationToken));
        Assert.Equal("TrainingFatal", error.ErrorId);
        Assert.Contains("boom", error.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_timeout_is_an_error_that_says_where_training_was()
    {
        using var temp = new TempDirectory();
        var (_, shared, monitor) = Open(temp);
        shared.WriteTrainingStatus(new TrainingStatus { State = TrainerState.Running, CurrentEpoch = 3, TotalEpochs = 9 });

        var error = await Assert.ThrowsAsync<AsyncOperationException>(() => monitor.WaitAsync(TimeSpan.FromMilliseconds(200), null, TestContext.Current.CancellationToken));

        Assert.Contains("3/9", error.Message);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TestTimeout);
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
