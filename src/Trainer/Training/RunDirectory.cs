using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Configuration;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// <c>models/&lt;run&gt;/</c> of one run, held under an exclusive lock (<c>run.lock</c>) for as long as a trainer
/// works on it, so two trainers never interleave checkpoints of one run.
/// </summary>
/// <remarks>
/// A run is identified by its configuration: without an explicit <c>run_id</c> the id is derived from a
/// fingerprint of everything that changes the result (data, model, epochs, batch size, learning rate, seed).
/// So a trainer restarted with the same configuration resumes the same run, and a run that completed is
/// reported completed again rather than retrained; change the seed or set <c>run_id</c> to train anew.
/// </remarks>
internal sealed class RunDirectory : IDisposable
{
    private readonly FileLock _lock;

    private RunDirectory(string runId, string path, string fingerprint, FileLock held, RunInfo info)
    {
        RunId = runId;
        Path = path;
        Fingerprint = fingerprint;
        _lock = held;
        Info = info;
    }

    /// <summary>The run id.</summary>
    public string RunId { get; }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>The configuration fingerprint.</summary>
    public string Fingerprint { get; }

    /// <summary>The run's record as found or created.</summary>
    public RunInfo Info { get; private set; }

    /// <summary>The final model's path.</summary>
    public string FinalModelPath => System.IO.Path.Combine(Path, "model-final.bin");

    /// <summary>The fingerprint of what defines a run's result.</summary>
    public static string FingerprintOf(TrainerOptions options)
    {
        var defining = new
        {
            options.Data,
            options.Model,
            options.Training.Epochs,
            options.Training.BatchSize,
            options.Training.LearningRate,
            options.Training.Seed,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(defining, StatusJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(json))[..16];
    }

    /// <summary>Opens (creating when new) the run's directory and takes its lock.</summary>
    /// <exception cref="ConfigurationException">An explicit run id names a run started with another configuration.</exception>
    /// <exception cref="LockTimeoutException">Another trainer works on the run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting for the lock.</exception>
    public static RunDirectory Open(StateDirectory state, TrainerOptions options, TimeSpan lockTimeout, CancellationToken cancellationToken = default)
    {
        var fingerprint = FingerprintOf(options);
        var runId = options.RunId ?? $"run-{fingerprint[..12]}";
        var path = System.IO.Path.Combine(state.ModelsDirectory, runId);
        Engine.Platform.FilePermissions.CreateOwnerOnlyDirectory(path);
        var held = FileLock.Acquire(System.IO.Path.Combine(path, "run.lock"), lockTimeout, cancellationToken);
        try
        {
            var infoPath = System.IO.Path.Combine(path, "run.json");
            RunInfo? info = null;
            if (File.Exists(infoPath))
            {
                try
                {
                    info = JsonSerializer.Deserialize<RunInfo>(File.ReadAllBytes(infoPath), StatusJson.Options);
                }
                catch (JsonException)
                {
                    // Written atomically, so only outside damage gets here: the checkpoints still say where the run is.
                }
            }

            if (info is not null && info.Fingerprint != fingerprint)
            {
                throw new ConfigurationException(new ConfigurationProblem(options.ConfigPath, null, "run_id",
                    $"run '{runId}' was started with a different configuration (fingerprint {info.Fingerprint}, now {fingerprint}). Use a new run_id, or the run's original configuration to resume it."));
            }

            var directory = new RunDirectory(runId, path, fingerprint, held, info ?? new RunInfo
            {
                RunId = runId,
                Fingerprint = fingerprint,
                Created = DateTimeOffset.UtcNow,
            });
            if (info is null)
            {
                directory.Save(directory.Info);
            }

            return directory;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>Replaces <c>run.json</c> atomically.</summary>
    public void Save(RunInfo info)
    {
        Info = info;
        AtomicFile.Replace(System.IO.Path.Combine(Path, "run.json"), JsonSerializer.SerializeToUtf8Bytes(info, StatusJson.Options), fsync: true);
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();
}
