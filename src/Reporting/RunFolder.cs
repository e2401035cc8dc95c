using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Reporting;

/// <summary>
/// <c>runs/&lt;run_id&gt;/</c> of one run, held under an exclusive lock (<c>run.lock</c>) for as long as a trainer works on it,
/// so two trainers never interleave checkpoints of one run; and its <c>run.json</c> (<see cref="TrainingRun"/>). The record
/// of a start replaces an unreadable one (only outside damage makes an atomically written file unreadable, and the
/// checkpoints still say where the run is); later changes are locked read-modify-writes, so that what the start
/// (service, experiment, tags) or the supervisor wrote is kept.
/// </summary>
internal sealed class RunFolder : IDisposable
{
    /// <summary>The variable in which a supervisor passes the run of the service (from its spec).</summary>
    public const string RunIdVariable = "STABILITY_RUN_ID";

    /// <summary>The variable in which a supervisor passes the run's folder (<c>runs/&lt;run_id&gt;</c>).</summary>
    public const string RunDirectoryVariable = "STABILITY_RUN_DIR";

    private readonly FileLock _lock;
    private readonly StatusStore _store;

    private RunFolder(RunPaths paths, FileLock held, StatusStore store)
    {
        Paths = paths;
        _lock = held;
        _store = store;
        Info = new TrainingRun { RunId = paths.RunId };
    }

    /// <summary>The run id.</summary>
    public string RunId => Paths.RunId;

    /// <summary>The run's files.</summary>
    public RunPaths Paths { get; }

    /// <summary>The run's record as last written.</summary>
    public TrainingRun Info { get; private set; }

    /// <summary>Opens (creating when new) the run's folder, takes its lock, and records this start in run.json.</summary>
    /// <param name="state">The state directory.</param>
    /// <param name="runId">The run.</param>
    /// <param name="lockTimeout">How long to wait for another trainer of the run to let go.</param>
    /// <param name="opening">The record of this start, from the record before it (null for a new run); it may throw
    /// <see cref="ConfigurationException"/> to refuse the start (nothing is written then).</param>
    /// <param name="cancellationToken">Ends the wait for the lock.</param>
    /// <exception cref="LockTimeoutException">Another trainer works on the run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting for the lock.</exception>
    public static RunFolder Open(StateDirectory state, string runId, TimeSpan lockTimeout, Func<TrainingRun?, TrainingRun> opening,
        CancellationToken cancellationToken = default)
    {
        var paths = state.EnsureRun(runId);
        var held = FileLock.Acquire(paths.LockPath, lockTimeout, cancellationToken);
        try
        {
            var folder = new RunFolder(paths, held, new StatusStore(new StatusStoreOptions { Fsync = true }));
            folder.Save(opening(folder._store.Read<TrainingRun>(paths.RunInfoPath).Document));
            return folder;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>The run a trainer works on: the supervisor's (<c>STABILITY_RUN_ID</c>), else <paramref name="fallback"/>, else a new one.</summary>
    public static string ResolveRunId(string? fallback, Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        return getEnvironment(RunIdVariable) is { Length: > 0 } given ? given.Trim() : fallback ?? StateDirectory.NewRunId(DateTimeOffset.UtcNow);
    }

    /// <summary>Replaces <c>run.json</c> atomically and durably.</summary>
    public TrainingRun Save(TrainingRun info)
    {
        Info = _store.Write(Paths.RunInfoPath, info);
        return Info;
    }

    /// <summary>Replaces <c>run.json</c> atomically and durably with what <paramref name="change"/> makes of it, under its lock.</summary>
    /// <exception cref="CorruptDocumentException">run.json is damaged: it is left as it is.</exception>
    public TrainingRun Update(Func<TrainingRun?, TrainingRun> change)
    {
        Info = _store.Update(Paths.RunInfoPath, change);
        return Info;
    }

    /// <summary>Records how the run ended: its state, epochs, final and best figures (kept when none are given), the error.</summary>
    public void End(string state, int? epochs, IReadOnlyDictionary<string, double>? final, IReadOnlyDictionary<string, double>? best,
        string? finalModel = null, string? error = null) =>
        Update(info => (info ?? Info) with
        {
            State = state,
            Ended = DateTimeOffset.UtcNow,
            Epochs = epochs ?? (info ?? Info).Epochs,
            Final = final is { Count: > 0 } ? final : (info ?? Info).Final,
            Best = best is { Count: > 0 } ? best : (info ?? Info).Best,
            FinalModel = finalModel ?? (info ?? Info).FinalModel,
            ErrorMessage = error,
        });

    /// <summary>The best of two values of a figure: the lower for a loss, the higher for anything else.</summary>
    public static double Better(string name, double a, double b) => name.EndsWith("loss", StringComparison.Ordinal) ? Math.Min(a, b) : Math.Max(a, b);

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();
}
