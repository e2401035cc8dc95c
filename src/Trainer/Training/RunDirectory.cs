using System.Security.Cryptography;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Reporting;
using StabilityTools.Trainer.Configuration;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// <c>runs/&lt;run_id&gt;/</c> of one run, held under an exclusive lock (<c>run.lock</c>) for as long as a trainer works on it,
/// so two trainers never interleave checkpoints of one run. Its <c>run.json</c> (<see cref="TrainingRun"/>) records the
/// resolved configuration, the trainer, host and device, and how the run ended.
/// </summary>
/// <remarks>
/// The run id comes from the start (<c>STABILITY_RUN_ID</c>, which the supervisor passes from the service's spec, so every
/// restart of the service resumes the same run), else from the configuration's <c>run_id</c>, else a new one. A resume
/// checks the fingerprint of what defines the result (data, model, schedule, seed): a run continues only with the
/// configuration it was started with.
/// </remarks>
internal sealed class RunDirectory : IDisposable
{
    /// <summary>The variable in which a supervisor passes the run of the service (from its spec).</summary>
    public const string RunIdVariable = RunFolder.RunIdVariable;

    private readonly RunFolder _folder;

    private RunDirectory(RunFolder folder, string fingerprint)
    {
        _folder = folder;
        Fingerprint = fingerprint;
    }

    /// <summary>The run id.</summary>
    public string RunId => Paths.RunId;

    /// <summary>The run's files.</summary>
    public RunPaths Paths => _folder.Paths;

    /// <summary>The directory.</summary>
    public string Path => Paths.Directory;

    /// <summary>The configuration fingerprint.</summary>
    public string Fingerprint { get; }

    /// <summary>The run's record as last written.</summary>
    public TrainingRun Info => _folder.Info;

    /// <summary>The final model's path.</summary>
    public string FinalModelPath => Paths.FinalModelPath;

    /// <summary>The run this trainer works on: the supervisor's, else the configuration's, else a new one.</summary>
    public static string ResolveRunId(TrainerOptions options, Func<string, string?>? getEnvironment = null) =>
        RunFolder.ResolveRunId(options.RunId, getEnvironment);
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

    /// <summary>The resolved configuration as dotted keys (<c>training.learning_rate</c>), for run.json and comparisons.</summary>
    public static IReadOnlyDictionary<string, JsonElement> ParametersOf(TrainerOptions options)
    {
        var parameters = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        void Flatten(string prefix, JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}", property.Value);
                }
            }
            else if (prefix is not ("run_id" or "config_path"))
            {
                parameters[prefix] = element.Clone();
            }
        }

        Flatten("", JsonSerializer.SerializeToElement(options, StatusJson.Options));
        return parameters;
    }

    /// <summary>Opens (creating when new) the run's directory, takes its lock and records this start in run.json.</summary>
    /// <exception cref="ConfigurationException">The run was started with another configuration.</exception>
    /// <exception cref="LockTimeoutException">Another trainer works on the run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting for the lock.</exception>
    public static RunDirectory Open(StateDirectory state, TrainerOptions options, string runId, string service, TimeSpan lockTimeout, CancellationToken cancellationToken = default)
    {
        var fingerprint = FingerprintOf(options);
        var folder = RunFolder.Open(state, runId, lockTimeout, info =>
        {
            if (info?.Fingerprint is { } recorded && recorded != fingerprint)
            {
                throw new ConfigurationException(new ConfigurationProblem(options.ConfigPath, null, "run_id",
                    $"run '{runId}' was started with a different configuration (fingerprint {recorded}, now {fingerprint}). Start a new run, or resume it with its original configuration."));
            }

            var now = DateTimeOffset.UtcNow;
            var completed = info?.State == RunStates.Completed;
            return (info ?? new TrainingRun { RunId = runId, Service = service, Created = now }) with
            {
                State = completed ? RunStates.Completed : RunStates.Running,
                Started = now,
                Ended = completed ? info!.Ended : null,
                ErrorMessage = null,
                Attempts = (info?.Attempts ?? 0) + 1,
                Fingerprint = fingerprint,
                Parameters = ParametersOf(options),
                Trainer = $"stability-trainer {typeof(RunDirectory).Assembly.GetName().Version?.ToString(3)}",
                Host = Environment.MachineName,
            };
        }, cancellationToken);
        return new RunDirectory(folder, fingerprint);
    }

    /// <summary>Replaces <c>run.json</c> atomically (and durably).</summary>
    public void Save(TrainingRun info) => _folder.Save(info);

    /// <summary>Records how the run ended: its state, the final and best metrics, the error.</summary>
    public void End(string state, IReadOnlyList<EpochSummary> history, string? finalModel = null, string? error = null)
    {
        var final = new Dictionary<string, double>(StringComparer.Ordinal);
        var best = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var epoch in history)
        {
            foreach (var (name, value) in MetricsOf(epoch))
            {
                final[name] = value;
                best[name] = best.TryGetValue(name, out var seen) ? RunFolder.Better(name, seen, value) : value;
            }
        }

        Save(Info with
        {
            State = state,
            Ended = DateTimeOffset.UtcNow,
            Epochs = history.Count == 0 ? Info.Epochs : history[^1].Epoch,
            Final = final.Count == 0 ? Info.Final : final,
            Best = best.Count == 0 ? Info.Best : best,
            FinalModel = finalModel ?? Info.FinalModel,
            ErrorMessage = error,
        });
    }

    /// <summary>Records the device the run trains on.</summary>
    public void RecordDevice(string device)
    {
        if (Info.Device != device)
        {
            Save(Info with { Device = device });
        }
    }

    private static IEnumerable<(string Name, double Value)> MetricsOf(EpochSummary epoch)
    {
        yield return ("train_loss", epoch.TrainLoss);
        yield return ("train_accuracy", epoch.TrainAccuracy);
        yield return ("val_loss", epoch.ValLoss);
        yield return ("val_accuracy", epoch.ValAccuracy);
        yield return ("samples_per_sec", epoch.SamplesPerSec);
    }

    /// <inheritdoc />
    public void Dispose() => _folder.Dispose();
}
