using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Training;

public sealed class TrainingRunsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StateDirectory _state;
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false });

    public TrainingRunsTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose() => _dir.Dispose();

    private void Run(string id, string service, string state, int minutesAgo, string? experiment = null, params string[] tags) =>
        _store.Write(_state.EnsureRun(id).RunInfoPath, new TrainingRun
        {
            RunId = id, Service = service, State = state, Experiment = experiment, Tags = tags, Created = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo),
        });

    [Fact(Timeout = 120_000)]
    public void Runs_are_listed_oldest_first_and_every_filter_given_must_match()
    {
        Run("r3", "exp-a", RunStates.Running, 1, "sweep", "lr");
        Run("r1", "exp-a", RunStates.Completed, 30, "sweep", "lr", "baseline");
        Run("r2", "exp-b", RunStates.Failed, 20, "other");
        Directory.CreateDirectory(Path.Combine(_state.RunsDirectory, "no-record"));
        var runs = new TrainingRuns(_state);

        Assert.Equal(["r1", "r2", "r3"], runs.List().Select(r => r.RunId));
        Assert.Equal(["r1", "r3"], runs.List(new RunFilter { Service = "exp-a" }).Select(r => r.RunId));
        Assert.Equal(["r1", "r3"], runs.List(new RunFilter { Experiment = "SWEEP" }).Select(r => r.RunId));
        Assert.Equal(["r1"], runs.List(new RunFilter { Tags = ["baseline", "lr"] }).Select(r => r.RunId));
        Assert.Equal(["r2", "r3"], runs.List(new RunFilter { Since = DateTimeOffset.UtcNow.AddMinutes(-25) }).Select(r => r.RunId));
        Assert.Equal(["r2"], runs.List(new RunFilter { State = "failed" }).Select(r => r.RunId));
        Assert.Equal("r3", runs.LastRunOf("exp-a")!.RunId);
        Assert.Null(runs.LastRunOf("exp-c"));
    }

    [Fact(Timeout = 120_000)]
    public void A_services_current_run_is_the_one_its_status_names_else_its_specs()
    {
        _state.EnsureServiceDirectory("exp-a");
        _store.Write(_state.ServiceSpecPath("exp-a"), ServiceSpec.ForKind(ServiceKind.Training, "exp-a", "/bin/sleep", ["1"]) with { RunId = "from-spec" });
        var runs = new TrainingRuns(_state);

        Assert.Equal("from-spec", runs.CurrentRunOf("exp-a"));
        _store.Write(_state.ServiceStatusPath("exp-a"), new ProcessStatus { Name = "exp-a", RunId = "from-status" });
        Assert.Equal("from-status", runs.CurrentRunOf("exp-a"));
        Assert.Null(runs.CurrentRunOf("never-started"));
    }
}
