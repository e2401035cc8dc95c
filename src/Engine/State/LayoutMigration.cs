using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.State;

/// <summary>
/// Moves a state directory of the layout before runs (issue #17) to <c>runs/&lt;run_id&gt;/</c>: the trainer's documents
/// from <c>data/</c> and each run's checkpoints from <c>models/&lt;run&gt;/</c> into the run's folder, <c>data/metrics.jsonl</c>
/// split by run, and every old <c>run.json</c> rewritten as a <see cref="TrainingRun"/>. Runs on first open by this version,
/// under a lock, and only when no trainer of the earlier version still writes there: a directory is migrated whole or
/// refused with what to do, never half-read.
/// </summary>
/// <remarks>
/// Each step either renames a file or writes a whole new one atomically before the old one goes, so a migration cut short
/// (a kill, a full disk) is simply finished by the next open.
/// </remarks>
internal static class LayoutMigration
{
    private static readonly string[] LegacyDocuments = ["training_status.json", "model_metrics.json", "market_data.json"];

    /// <summary>Migrates when something of the old layout is there; cheap (a few stats) when nothing is.</summary>
    /// <exception cref="StateDirectoryException">A trainer of the earlier version is still running, or a step failed.</exception>
    public static void MigrateIfNeeded(StateDirectory state)
    {
        if (!NeedsMigration(state))
        {
            return;
        }

        try
        {
            using var held = FileLock.Acquire(Path.Combine(state.Root, ".layout.lock"), TimeSpan.FromSeconds(30));
            if (NeedsMigration(state))
            {
                Migrate(state);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or StabilityException and not StateDirectoryException)
        {
            throw new StateDirectoryException(state.Root,
                $"The state directory '{state.Root}' is in the layout of an earlier version and could not be moved to runs/<run_id>/ ({ex.Message}). Nothing was lost: fix the cause and run any command again to finish the move.",
                ex);
        }
    }

    /// <summary>True when a file or folder of the earlier layout is present.</summary>
    public static bool NeedsMigration(StateDirectory state) =>
        LegacyDocuments.Any(name => File.Exists(Path.Combine(state.DataDirectory, name)))
        || File.Exists(LegacyMetricsPath(state))
        || (Directory.Exists(state.ModelsDirectory) && Directory.EnumerateDirectories(state.ModelsDirectory).Any(d => StateDirectory.IsValidRunId(Path.GetFileName(d))));

    private static string LegacyMetricsPath(StateDirectory state) => Path.Combine(state.DataDirectory, "metrics.jsonl");

    private static void Migrate(StateDirectory state)
    {
        var store = new StatusStore(new StatusStoreOptions { Fsync = true });
        var statusPath = Path.Combine(state.DataDirectory, "training_status.json");
        var status = store.Read<TrainingStatus>(statusPath);
        if (status.Document is { IsRunning: true } running && Liveness.HeartbeatAge(running, DateTimeOffset.UtcNow) < Liveness.TrainerStaleAfter
            && running.Pid > 0 && ProcessIdentity.PidExists(running.Pid))
        {
            throw new StateDirectoryException(state.Root,
                $"The state directory '{state.Root}' is in the layout of an earlier version, and its trainer (pid {running.Pid}) is still writing '{statusPath}'. "
                + "Stop it with the earlier version (Stop-TrainingProcess), then run any command again: the directory is moved to runs/<run_id>/ on first use.");
        }

        // The run the loose documents of data/ belong to: the one the status names, else the newest run folder.
        var currentRun = status.Document?.RunId is { } named && StateDirectory.IsValidRunId(named) ? named : null;
        var moved = new List<string>();

        if (Directory.Exists(state.ModelsDirectory))
        {
            foreach (var folder in Directory.EnumerateDirectories(state.ModelsDirectory).Order(StringComparer.Ordinal).ToList())
            {
                var runId = Path.GetFileName(folder);
                if (!StateDirectory.IsValidRunId(runId) || FileStatus.TryLstat(folder, out var info) && !info.IsDirectory)
                {
                    continue;
                }

                var run = state.Run(runId);
                FilePermissions.CreateOwnerOnlyDirectory(state.RunsDirectory);
                if (!Directory.Exists(run.Directory))
                {
                    Directory.Move(folder, run.Directory);
                }
                else
                {
                    foreach (var file in Directory.EnumerateFiles(folder))
                    {
                        File.Move(file, Path.Combine(run.Directory, Path.GetFileName(file)), overwrite: false);
                    }

                    Directory.Delete(folder);
                }

                ConvertRunRecord(store, run, folder, status.Document);
                moved.Add(runId);
                currentRun ??= runId;
            }

            if (!Directory.EnumerateFileSystemEntries(state.ModelsDirectory).Any())
            {
                Directory.Delete(state.ModelsDirectory);
            }
        }

        currentRun ??= "legacy";
        var current = state.EnsureRun(currentRun);
        foreach (var name in LegacyDocuments)
        {
            var from = Path.Combine(state.DataDirectory, name);
            if (File.Exists(from))
            {
                SafeFile.Replace(from, Path.Combine(current.Directory, name));
            }

            DeleteIfThere(StatusStore.LockPathFor(from));
        }

        SplitMetrics(state, current.RunId);
        // Every run gets a record, including those known only from the metric log.
        foreach (var runId in state.ListRunIds())
        {
            var run = state.Run(runId);
            if (!File.Exists(run.RunInfoPath))
            {
                store.Write(run.RunInfoPath, new TrainingRun
                {
                    RunId = runId, Service = BuiltInServiceName, State = RunStates.Stopped, Created = Directory.GetCreationTimeUtc(run.Directory), Attempts = 1,
                });
            }
        }

        var events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath);
        events.Append(new StabilityEvent
        {
            Time = DateTimeOffset.UtcNow, Type = "layout_migrated", Severity = EventSeverity.Info, Pid = Environment.ProcessId, Host = Environment.MachineName,
            Message = $"Moved the state directory to one folder per run (runs/): {string.Join(", ", moved.Append(current.RunId).Distinct())}.",
        });
    }

    // The trainer's service name before runs had services: every earlier run was the built-in one's.
    private const string BuiltInServiceName = "training";

    /// <summary>Rewrites an earlier version's <c>run.json</c> (no envelope) as a <see cref="TrainingRun"/>; a new-format one is left.</summary>
    private static void ConvertRunRecord(StatusStore store, RunPaths run, string oldFolder, TrainingStatus? status)
    {
        if (!File.Exists(run.RunInfoPath))
        {
            store.Write(run.RunInfoPath, new TrainingRun { RunId = run.RunId, Service = BuiltInServiceName, State = RunStates.Stopped, Created = DateTimeOffset.UtcNow, Attempts = 1 });
            return;
        }

        JsonElement old;
        using (var stream = SafeFile.OpenRead(run.RunInfoPath))
        {
            old = JsonDocument.Parse(stream).RootElement.Clone();
        }

        if (old.TryGetProperty("schema", out _))
        {
            return;
        }

        string? Text(string name) => old.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var completed = Text("state") == "completed";
        var finalModel = Text("final_model") is { } model ? model.Replace(oldFolder, run.Directory, StringComparison.Ordinal) : null;
        var final = new Dictionary<string, double>(StringComparer.Ordinal);
        if (old.TryGetProperty("final_val_accuracy", out var accuracy) && accuracy.ValueKind == JsonValueKind.Number)
        {
            final["val_accuracy"] = accuracy.GetDouble();
        }

        if (status is not null && status.RunId == run.RunId)
        {
            final.TryAdd("train_loss", status.Loss);
            if (status.ValLoss is { } valLoss)
            {
                final.TryAdd("val_loss", valLoss);
            }
        }

        store.Write(run.RunInfoPath, new TrainingRun
        {
            RunId = run.RunId,
            Service = BuiltInServiceName,
            State = completed ? RunStates.Completed : RunStates.Stopped,
            Created = DateTimeOffset.TryParse(Text("created"), out var created) ? created : DateTimeOffset.UtcNow,
            Ended = DateTimeOffset.TryParse(Text("completed"), out var ended) ? ended : null,
            Attempts = 1,
            Fingerprint = Text("fingerprint"),
            FinalModel = finalModel,
            Final = final,
            Best = final,
        });
    }

    /// <summary>
    /// Splits <c>data/metrics.jsonl</c> by each line's <c>run_id</c> into the runs' own logs (lines without one go to
    /// <paramref name="fallbackRun"/>). Each run's log is written whole and atomically, then the old log is removed.
    /// </summary>
    private static void SplitMetrics(StateDirectory state, string fallbackRun)
    {
        var path = LegacyMetricsPath(state);
        if (!File.Exists(path))
        {
            return;
        }

        var byRun = new Dictionary<string, MemoryStream>(StringComparer.Ordinal);
        using (var stream = SafeFile.OpenRead(path))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                var runId = fallbackRun;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("run_id", out var id)
                        && id.GetString() is { } named && StateDirectory.IsValidRunId(named))
                    {
                        runId = named;
                    }
                }
                catch (JsonException)
                {
                    // A torn or foreign line stays with the fallback run; its readers skip it as before.
                }

                if (!byRun.TryGetValue(runId, out var buffer))
                {
                    byRun[runId] = buffer = new MemoryStream();
                }

                buffer.Write(Encoding.UTF8.GetBytes(line + "\n"));
            }
        }

        foreach (var (runId, buffer) in byRun)
        {
            var run = state.EnsureRun(runId);
            AtomicFile.Replace(run.MetricsLogPath, buffer.ToArray(), fsync: true);
        }

        File.Delete(path);
        DeleteIfThere(StatusStore.LockPathFor(path));
    }

    private static void DeleteIfThere(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
