using System.Collections;
using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// What Start-TrainingProcess and Start-TrainingSweep share: the trainer to run (the built-in one with -ConfigPath, or
/// -FilePath with -ArgumentList), how it is supervised, and where (-Backend Local or Slurm, with the job's options).
/// </summary>
public abstract class TrainerStartCommandBase : StartServiceCommandBase
{
    /// <summary>A configuration file for the built-in trainer (<c>--config</c>). Not with -FilePath.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Run this program instead of the built-in trainer: a path, or a name on PATH.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? FilePath { get; set; }

    /// <summary>Arguments for -FilePath, passed as they are.</summary>
    [Parameter]
    [AllowEmptyCollection]
    public string[] ArgumentList { get; set; } = [];

    /// <summary>When to restart: <c>always</c>, <c>on-failure</c> (default) or <c>never</c>.</summary>
    [Parameter]
    [ValidateSet("always", "on-failure", "never")]
    public string? RestartPolicy { get; set; }

    /// <summary>Extra environment variables for the service.</summary>
    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <summary>The service's working directory. Default: the state directory.</summary>
    [Parameter]
    public string? WorkingDirectory { get; set; }

    /// <summary>
    /// With -FilePath: how long a new process must stay up before it counts as running, seconds (a program that cannot
    /// say when it is ready). Default 1. The built-in trainer is running at its first heartbeat instead.
    /// </summary>
    [Parameter]
    [ValidateRange(0.0, 3600.0)]
    public double? StartupGraceSeconds { get; set; }

    /// <summary>Restart the service when its training progress stalls this many seconds; 0 turns hang detection off. Default 120.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int? HangTimeoutSeconds { get; set; }

    /// <summary>Where the supervisor runs: <c>Local</c> (default, a detached process here) or <c>Slurm</c> (a batch job).</summary>
    [Parameter]
    [ValidateSet("Local", "Slurm")]
    public string Backend { get; set; } = "Local";

    /// <summary>Slurm: the partition (<c>--partition</c>).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Partition { get; set; }

    /// <summary>Slurm: GPUs per node (<c>--gres=gpu:N</c>).</summary>
    [Parameter]
    [ValidateRange(0, 64)]
    public int? Gpus { get; set; }

    /// <summary>Slurm: CPUs for the job (<c>--cpus-per-task</c>).</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int? CpusPerTask { get; set; }

    /// <summary>Slurm: memory per node in MB (<c>--mem</c>).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? MemoryMB { get; set; }

    /// <summary>Slurm: the time limit (<c>--time</c>), in a Slurm format such as <c>90</c>, <c>04:00:00</c> or <c>2-00:00:00</c>.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TimeLimit { get; set; }

    /// <summary>Slurm: the account charged (<c>--account</c>).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Account { get; set; }

    /// <summary>Slurm: how many seconds ahead of the time limit the trainer checkpoints and the job is requeued. Default 120.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int? SignalBeforeLimitSeconds { get; set; }

    /// <summary>Slurm: further sbatch options, passed as they are (<c>--qos=high</c>, <c>--constraint=a100</c>).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? SbatchArgument { get; set; }

    /// <summary>Labels recorded in the run's run.json (Get-TrainingRun -Tag); a sweep's trials carry them beside <c>sweep:NAME</c> and <c>trial:N</c>.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 128)]
    public string[]? Tag { get; set; }

    /// <summary>Refuses options that do not go together, naming <paramref name="service"/> in the error.</summary>
    /// <exception cref="ConfigurationException">-ConfigPath with -FilePath, or -StartupGraceSeconds without it.</exception>
    protected void CheckTrainerOptions(string service)
    {
        if (FilePath is not null && ConfigPath is not null)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "ConfigPath",
                "-ConfigPath is for the built-in trainer; with -FilePath pass the program's own options in -ArgumentList.")) { Service = service };
        }

        if (FilePath is null && StartupGraceSeconds is not null)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "StartupGraceSeconds",
                "-StartupGraceSeconds is for a -FilePath program: the built-in trainer is running at its first heartbeat. Leave it out, or add -FilePath.")) { Service = service };
        }
    }

    /// <summary>The spec of the trainer these parameters describe, named <paramref name="name"/> (not yet validated: the caller adds its own).</summary>
    protected ServiceSpec TrainerSpec(Engine.State.StateDirectory state, string name, SlurmJobOptions? slurm)
    {
        var spec = FilePath is null
            ? BuiltInServices.Trainer(state, name, ConfigPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigPath))
            : ServiceSpec.ForKind(ServiceKind.Training, name, ResolveProgram(FilePath), ArgumentList);
        return WithRestartOptions(spec with
        {
            RestartPolicy = RestartPolicy is null ? spec.RestartPolicy : ParsePolicy(RestartPolicy),
            Environment = Environment is null ? spec.Environment : Environment.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? ""),
            WorkingDirectory = WorkingDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(WorkingDirectory),
            HangTimeoutMs = HangTimeoutSeconds is { } hang ? hang * 1000 : spec.HangTimeoutMs,
            StartupGraceMs = StartupGraceSeconds is { } grace ? (int)Math.Round(grace * 1000) : spec.StartupGraceMs,
            Slurm = slurm,
            Tags = Tag ?? [],
        });
    }

    /// <summary>The Slurm options of -Backend Slurm; null for a local start, which refuses the Slurm-only parameters.</summary>
    protected SlurmJobOptions? SlurmOptions(string service)
    {
        if (!string.Equals(Backend, "Slurm", StringComparison.OrdinalIgnoreCase))
        {
            var given = new[] { nameof(Partition), nameof(Gpus), nameof(CpusPerTask), nameof(MemoryMB), nameof(TimeLimit), nameof(Account), nameof(SignalBeforeLimitSeconds), nameof(SbatchArgument) }
                .Where(MyInvocation.BoundParameters.ContainsKey).ToList();
            return given.Count == 0
                ? null
                : throw new ConfigurationException(new ConfigurationProblem(null, null, given[0],
                    $"-{string.Join(", -", given)} {(given.Count == 1 ? "is" : "are")} for a Slurm job: add -Backend Slurm, or leave {(given.Count == 1 ? "it" : "them")} out.")) { Service = service };
        }

        var defaults = new SlurmJobOptions();
        return defaults with
        {
            Partition = Partition, Gpus = Gpus ?? 0, CpusPerTask = CpusPerTask, MemoryMb = MemoryMB, TimeLimit = TimeLimit, Account = Account,
            SignalBeforeLimitSeconds = SignalBeforeLimitSeconds ?? defaults.SignalBeforeLimitSeconds,
            ExtraArguments = SbatchArgument ?? [],
        };
    }

    /// <summary>A path relative to the session's location becomes absolute; a bare name stays for a PATH lookup.</summary>
    internal string ResolveProgram(string program) =>
        program.Contains('/') || program.Contains('\\') ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(program) : program;

    internal static RestartPolicy ParsePolicy(string policy) => policy.ToLowerInvariant() switch
    {
        "always" => Engine.Models.RestartPolicy.Always,
        "never" => Engine.Models.RestartPolicy.Never,
        _ => Engine.Models.RestartPolicy.OnFailure,
    };
}
