using System.Globalization;
using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Sweeps;

/// <summary>How a trial reaches its trainer: the service spec of one trial of a plan, and the metric read back from its run.</summary>
public static class SweepTrials
{
    /// <summary>The variable that carries a trial's settings as one JSON object.</summary>
    public const string ParametersVariable = "STABILITY_TRIAL_PARAMETERS";

    /// <summary>The prefix of one variable per setting: <c>training.learning_rate</c> is <c>STABILITY_PARAM_TRAINING__LEARNING_RATE</c>.</summary>
    public const string ParameterPrefix = "STABILITY_PARAM_";

    /// <summary>
    /// The spec of <paramref name="trial"/>: the plan's trial spec, named after the trial, on run <paramref name="runId"/>
    /// in the sweep's experiment, given <paramref name="gpus"/> exclusively, with its settings passed three ways — in
    /// <c>STABILITY_TRIAL_PARAMETERS</c> (JSON), one <c>STABILITY_PARAM_*</c> variable each, and <c>{name}</c> in any
    /// argument replaced by the value — and, for the built-in trainer, as its configuration overrides
    /// (<c>STABILITY_TRAINER_TRAINING__LEARNING_RATE</c>).
    /// </summary>
    public static ServiceSpec Spec(SweepPlan plan, SweepTrialPlan trial, string runId, IReadOnlyList<int> gpus)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(trial);
        var environment = new Dictionary<string, string>(plan.Trial.Environment, StringComparer.Ordinal)
        {
            ["STABILITY_SWEEP"] = plan.Name,
            ["STABILITY_TRIAL"] = trial.Index.ToString(CultureInfo.InvariantCulture),
            [ParametersVariable] = JsonSerializer.Serialize(trial.Parameters),
        };
        foreach (var (name, value) in trial.Parameters)
        {
            environment[ParameterPrefix + VariableName(name)] = SweepSearch.Text(value);
            if (plan.BuiltInTrainer && name.Count(c => c == '.') == 1)
            {
                environment["STABILITY_TRAINER_" + VariableName(name)] = SweepSearch.Text(value);
            }
        }

        var slurm = plan.Trial.Slurm is { } job
            ? job with { Gpus = plan.GpusPerTrial > 0 ? plan.GpusPerTrial : job.Gpus, CpusPerTask = plan.CpusPerTrial > 0 ? plan.CpusPerTrial : job.CpusPerTask }
            : null;
        return plan.Trial with
        {
            Name = trial.Service,
            RunId = runId,
            Experiment = plan.Name,
            Tags = [.. plan.Trial.Tags, $"sweep:{plan.Name}", $"trial:{trial.Index.ToString(CultureInfo.InvariantCulture)}"],
            Environment = environment,
            Arguments = plan.Trial.Arguments.Select(a => Substitute(a, trial.Parameters)).ToList(),
            GpuDevices = gpus.Count > 0 && slurm is null ? gpus : null,
            GpuExclusive = gpus.Count > 0 && slurm is null,
            Slurm = slurm,
        };
    }

    /// <summary>A parameter's name as a variable name: upper case, '.' as "__", '-' as '_'.</summary>
    public static string VariableName(string name) =>
        name.ToUpperInvariant().Replace(".", "__", StringComparison.Ordinal).Replace('-', '_');

    /// <summary><paramref name="argument"/> with each <c>{name}</c> of a swept parameter replaced by its value; other braces stay.</summary>
    public static string Substitute(string argument, IReadOnlyDictionary<string, JsonElement> parameters)
    {
        if (!argument.Contains('{', StringComparison.Ordinal))
        {
            return argument;
        }

        var text = new StringBuilder(argument);
        foreach (var (name, value) in parameters)
        {
            text.Replace("{" + name + "}", SweepSearch.Text(value));
        }

        return text.ToString();
    }

    /// <summary>The value of <paramref name="metric"/> in an epoch record; null when it has none.</summary>
    public static double? Value(MetricRecord record, string metric) => metric switch
    {
        "val_loss" => record.ValLoss,
        "train_loss" or "loss" => record.TrainLoss,
        "val_accuracy" => record.ValAccuracy,
        "train_accuracy" or "accuracy" => record.TrainAccuracy,
        "samples_per_sec" => record.SamplesPerSec,
        _ => record.Scalars is { } scalars && scalars.TryGetValue(metric, out var v) ? v : null,
    };
}
