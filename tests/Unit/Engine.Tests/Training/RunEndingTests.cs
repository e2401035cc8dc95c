using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Training;

/// <summary>Which word on a run's end stands: the trainer's, when it wrote one during this supervision; else the supervisor's.</summary>
public sealed class RunEndingTests : IDisposable
{
    private static readonly DateTimeOffset Since = new(2026, 11, 30, 1, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly StateDirectory _state;
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false });

    public RunEndingTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose() => _dir.Dispose();

    private string Write(TrainingRun run)
    {
        var path = _state.EnsureRun(run.RunId).RunInfoPath;
        _store.Write(path, run);
        return path;
    }

    [Fact(Timeout = 120_000)]
    public void An_end_the_trainer_wrote_during_this_supervision_stands_byte_for_byte()
    {
        var path = Write(new TrainingRun { RunId = "r1", Service = "t", State = RunStates.Completed, Started = Since.AddSeconds(1), Ended = Since.AddSeconds(9), Attempts = 1 });
        var before = File.ReadAllBytes(path);

        Assert.Null(RunEnding.RecordUnreported(_store, _state, "r1", ServiceState.Fatal, "crashed", Since, Since.AddSeconds(10)));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact(Timeout = 120_000)]
    public void An_end_from_an_earlier_attempt_is_replaced_by_how_this_one_ended()
    {
        Write(new TrainingRun { RunId = "r1", Service = "t", State = RunStates.Stopped, Started = Since.AddHours(-2), Ended = Since.AddHours(-1), Attempts = 1 });

        var run = RunEnding.RecordUnreported(_store, _state, "r1", ServiceState.Fatal, "exited with code 3", Since, Since.AddSeconds(10));

        Assert.NotNull(run);
        Assert.Equal(RunStates.Failed, run.State);
        Assert.Equal(Since.AddSeconds(10), run.Ended);
        Assert.Equal(Since.AddHours(-2), run.Started);
        Assert.Equal("exited with code 3", run.ErrorMessage);
    }

    [Fact(Timeout = 120_000)]
    public void A_run_a_trainer_never_reported_gets_the_supervision_start_and_the_services_end()
    {
        Write(new TrainingRun { RunId = "r1", Service = "t", State = RunStates.Created, Created = Since });

        var run = RunEnding.RecordUnreported(_store, _state, "r1", ServiceState.Completed, null, Since, Since.AddSeconds(5));

        Assert.NotNull(run);
        Assert.Equal(RunStates.Completed, run.State);
        Assert.Equal(Since, run.Started);
        Assert.Equal(1, run.Attempts);
        Assert.Equal(RunStates.Completed, _store.Read<TrainingRun>(_state.Run("r1").RunInfoPath).Document!.State);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(ServiceState.Running)]
    [InlineData(ServiceState.Backoff)]
    [InlineData(ServiceState.Unknown)]
    public void A_state_that_is_not_final_records_nothing(ServiceState state)
    {
        var path = Write(new TrainingRun { RunId = "r1", Service = "t", State = RunStates.Running, Started = Since });
        var before = File.ReadAllBytes(path);

        Assert.Null(RunEnding.RecordUnreported(_store, _state, "r1", state, null, Since, Since.AddSeconds(5)));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact(Timeout = 120_000)]
    public void A_run_that_is_not_there_is_not_created()
    {
        Assert.Null(RunEnding.RecordUnreported(_store, _state, "gone", ServiceState.Completed, null, Since, Since.AddSeconds(5)));
        Assert.False(Directory.Exists(_state.Run("gone").Directory));
    }
}
