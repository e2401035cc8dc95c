using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

/// <summary>Checkpoint retention (issue #17): only old, finished, unused runs of the one service lose checkpoints, and only checkpoints.</summary>
public sealed class CheckpointRetentionTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly StateDirectory _state;
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false });

    public CheckpointRetentionTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose() => _dir.Dispose();

    /// <summary>A run with two checkpoint files, a checkpoints/ folder, a final model and metrics.</summary>
    private string Run(string id, string service, string state, int minute)
    {
        var run = _state.EnsureRun(id);
        _store.Write(run.RunInfoPath, new TrainingRun { RunId = id, Service = service, State = state, Created = T0.AddMinutes(minute) });
        File.WriteAllBytes(Path.Combine(run.Directory, "ckpt-e00001-b000000.ckpt"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(run.Directory, "ckpt-e00002-b000000.ckpt"), new byte[1000]);
        Directory.CreateDirectory(Path.Combine(run.Directory, "checkpoints", "nested"));
        File.WriteAllBytes(Path.Combine(run.Directory, "checkpoints", "nested", "step-10.pt"), new byte[500]);
        File.WriteAllBytes(run.FinalModelPath, new byte[10]);
        File.WriteAllText(run.MetricsLogPath, "{}\n");
        return run.Directory;
    }

    private static bool HasCheckpoints(string runDirectory) =>
        Directory.EnumerateFiles(runDirectory, "ckpt-*").Any() || Directory.Exists(Path.Combine(runDirectory, "checkpoints"));

    [Fact(Timeout = 120_000)]
    public void Only_the_services_finished_unused_runs_older_than_the_newest_N_lose_their_checkpoints_and_nothing_else()
    {
        var completed = Run("r1", "t", RunStates.Completed, 1);
        var stopped = Run("r2", "t", RunStates.Stopped, 2);
        var running = Run("r3", "t", RunStates.Running, 3);
        var used = Run("r4", "t", RunStates.Completed, 4);
        var recent = Run("r5", "t", RunStates.Completed, 5);
        var fresh = Run("r6", "t", RunStates.Created, 6);
        var other = Run("o1", "other", RunStates.Completed, 0);

        var pruned = CheckpointRetention.Prune(_state, _store, "t", keep: 2, inUse: new HashSet<string> { "r4" });

        Assert.Equal(["r1", "r2"], pruned.Select(p => p.RunId));
        Assert.All(pruned, p => Assert.Equal((3, 2500L), (p.Files, p.Bytes)));
        Assert.False(HasCheckpoints(completed));
        Assert.False(HasCheckpoints(stopped));
        Assert.All(new[] { running, used, recent, fresh, other }, d => Assert.True(HasCheckpoints(d), $"{d} lost its checkpoints"));
        // The pruned runs are still runs: record, metrics and final model stay.
        foreach (var id in new[] { "r1", "r2" })
        {
            Assert.Equal(id, _store.Read<TrainingRun>(_state.Run(id).RunInfoPath).Document!.RunId);
            Assert.True(File.Exists(_state.Run(id).FinalModelPath));
            Assert.True(File.Exists(_state.Run(id).MetricsLogPath));
        }
    }

    [Fact(Timeout = 120_000)]
    public void A_link_named_like_a_checkpoint_is_removed_as_a_link_and_what_it_points_to_stays()
    {
        var old = Run("r1", "t", RunStates.Completed, 1);
        Run("r2", "t", RunStates.Completed, 2);
        var precious = _dir.File("precious.bin");
        File.WriteAllBytes(precious, new byte[100]);
        var preciousFolder = _dir.File("precious-folder");
        Directory.CreateDirectory(preciousFolder);
        File.WriteAllBytes(Path.Combine(preciousFolder, "keep.pt"), new byte[100]);
        File.CreateSymbolicLink(Path.Combine(old, "ckpt-link"), precious);
        File.CreateSymbolicLink(Path.Combine(old, "checkpoints", "outside"), preciousFolder);

        CheckpointRetention.Prune(_state, _store, "t", keep: 1, inUse: new HashSet<string>());

        Assert.False(HasCheckpoints(old));
        Assert.Equal(100, new FileInfo(precious).Length);
        Assert.True(File.Exists(Path.Combine(preciousFolder, "keep.pt")));
    }

    [Fact(Timeout = 120_000)]
    public void Fewer_runs_than_kept_remove_nothing()
    {
        var only = Run("r1", "t", RunStates.Completed, 1);

        Assert.Empty(CheckpointRetention.Prune(_state, _store, "t", keep: 3, inUse: new HashSet<string>()));
        Assert.True(HasCheckpoints(only));
    }
}
