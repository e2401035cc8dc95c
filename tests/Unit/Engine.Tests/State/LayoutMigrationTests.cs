using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

/// <summary>A state directory of the layout before runs (trainer documents in data/, checkpoints in models/) is moved whole to runs/.</summary>
public sealed class LayoutMigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes what the previous version left after two runs: the second run's documents in data/, both runs' checkpoints in models/.</summary>
    private string WriteOldLayout(bool trainerAlive = false)
    {
        var root = _dir.File("state");
        var data = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        foreach (var run in new[] { "run-aaaa", "run-bbbb" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(root, "models", run)).FullName;
            File.WriteAllText(Path.Combine(folder, "ckpt-00002-b000000.bin"), "checkpoint of " + run);
            File.WriteAllText(Path.Combine(folder, "model-final.bin"), "model");
            File.WriteAllText(Path.Combine(folder, "run.json"),
                $$"""{"run_id":"{{run}}","fingerprint":"f-{{run}}","state":"completed","created":"2026-11-28T10:00:00+00:00","completed":"2026-11-28T10:05:00+00:00","final_model":"{{Path.Combine(folder, "model-final.bin")}}","final_val_accuracy":0.61}""");
        }

        store.Write(Path.Combine(data, "training_status.json"), new TrainingStatus
        {
            RunId = "run-bbbb", State = trainerAlive ? TrainerState.Running : TrainerState.Completed, IsRunning = trainerAlive, CurrentEpoch = 2, TotalEpochs = 2, Loss = 0.42, ValLoss = 0.44,
            Heartbeat = DateTimeOffset.UtcNow, Pid = trainerAlive ? Environment.ProcessId : 0,
        });
        store.Write(Path.Combine(data, "model_metrics.json"), new ModelMetrics { RunId = "run-bbbb", Epoch = 2, ValAccuracy = 0.61 });
        var metrics = new JsonLinesLog<MetricRecord>(Path.Combine(data, "metrics.jsonl"));
        metrics.AppendRange([
            new MetricRecord { RunId = "run-aaaa", Epoch = 1 }, new MetricRecord { RunId = "run-aaaa", Epoch = 2 },
            new MetricRecord { RunId = "run-bbbb", Epoch = 1 }, new MetricRecord { RunId = "run-bbbb", Epoch = 2 },
        ]);
        File.AppendAllText(Path.Combine(data, "metrics.jsonl"), "a torn line\n");
        return root;
    }

    [Fact(Timeout = 120_000)]
    public void Opening_an_old_layout_moves_every_run_to_its_own_folder_with_its_own_metrics_and_record()
    {
        var root = WriteOldLayout();

        var state = StateDirectory.Open(root);

        Assert.Equal(["run-aaaa", "run-bbbb"], state.ListRunIds());
        Assert.False(Directory.Exists(state.ModelsDirectory));
        Assert.DoesNotContain(Directory.GetFiles(state.DataDirectory), f => !Path.GetFileName(f).StartsWith("dashboard_state", StringComparison.Ordinal));
        foreach (var id in new[] { "run-aaaa", "run-bbbb" })
        {
            var run = new SharedDataManager(state, run: state.Run(id));
            Assert.Equal([1, 2], run.Metrics.ReadAll().Records.Select(r => r.Epoch));
            Assert.All(run.Metrics.ReadAll().Records, r => Assert.Equal(id, r.RunId));
            Assert.Equal("checkpoint of " + id, File.ReadAllText(Path.Combine(state.Run(id).Directory, "ckpt-00002-b000000.bin")));
            var record = run.ReadRun(id).GetDocumentOrThrow();
            Assert.Equal((id, "training", RunStates.Completed, "f-" + id, 0.61), (record.RunId, record.Service, record.State, record.Fingerprint, record.Final["val_accuracy"]));
            Assert.Equal(state.Run(id).FinalModelPath, record.FinalModel);
        }

        // The loose documents belong to the run the status named.
        var current = new SharedDataManager(state, run: state.Run("run-bbbb"));
        Assert.Equal(0.42, current.ReadTrainingStatus().GetDocumentOrThrow().Loss);
        Assert.Equal(2, current.ReadModelMetrics().GetDocumentOrThrow().Epoch);
        Assert.Equal(0.42, current.ReadRun("run-bbbb").GetDocumentOrThrow().Final["train_loss"]);
        Assert.Single(new SharedDataManager(state).Events.ReadAll().Records, e => e.Type == "layout_migrated");
    }

    [Fact(Timeout = 120_000)]
    public void A_migrated_directory_is_not_migrated_again_and_readers_see_the_same_runs()
    {
        var root = WriteOldLayout();
        // A reader's first use migrates too, and makes runs/ owner-only like every product folder.
        var state = StateDirectory.Locate(root).MigrateLayoutIfNeeded();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(state.RunsDirectory));

        StateDirectory.Open(root);
        StateDirectory.Locate(root).MigrateLayoutIfNeeded();

        Assert.Single(new SharedDataManager(state).Events.ReadAll().Records, e => e.Type == "layout_migrated");
        Assert.Equal(["run-aaaa", "run-bbbb"], new TrainingRuns(state).List().Select(r => r.RunId));
    }

    [Fact(Timeout = 120_000)]
    public void An_old_layout_whose_trainer_still_writes_is_refused_with_what_to_do_and_left_as_it_was()
    {
        var root = WriteOldLayout(trainerAlive: true);
        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(root));

        Assert.Contains($"its trainer (pid {Environment.ProcessId}) is still writing", error.Message);
        Assert.Contains("Stop-TrainingProcess", error.Message);
        Assert.Empty(StateDirectory.Locate(root).ListRunIds());
        Assert.Equal(5, File.ReadAllLines(Path.Combine(root, "data", "metrics.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(root, "data", "training_status.json")));
        Assert.True(Directory.Exists(Path.Combine(root, "models", "run-aaaa")));
    }

    [Fact(Timeout = 120_000)]
    public void New_run_ids_sort_by_start_time_and_never_collide_within_a_second()
    {
        var now = new DateTimeOffset(2026, 11, 29, 21, 45, 1, TimeSpan.Zero);

        var ids = Enumerable.Range(0, 200).Select(_ => StateDirectory.NewRunId(now)).ToList();

        Assert.All(ids, id => Assert.StartsWith("20261129-214501-", id, StringComparison.Ordinal));
        Assert.All(ids, id => Assert.True(StateDirectory.IsValidRunId(id), id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(string.CompareOrdinal(StateDirectory.NewRunId(now.AddSeconds(1)), ids.Max()) > 0);
        Assert.False(StateDirectory.IsValidRunId("../etc"));
        Assert.False(StateDirectory.IsValidRunId(".hidden"));
    }
}
