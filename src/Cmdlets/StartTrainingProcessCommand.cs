using System.Collections;
using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Starts the training process (or any program that follows the status-file contract) under its own supervisor.</para>
/// <para type="description">Writes the service's spec into the state directory, launches a detached supervisor that
/// outlives this session, and waits until the service is running. Without -FilePath it runs the built-in trainer;
/// with it, any program. The supervisor restarts it by policy (default on-failure), restarts it when its training
/// progress stalls, and keeps its output in rotated logs. Fails when the service is already running. With -Backend
/// Slurm the supervisor runs as a requeueable Slurm batch job instead, and the start returns once the job is queued.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TrainingProcess", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class StartTrainingProcessCommand : StartServiceCommandBase
{
    /// <summary>The service name. Default <c>training</c>.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = BuiltInServices.TrainingName;

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

    /// <summary>Run the service as this user (needs a session running as root).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunAsUser { get; set; }

    /// <summary>Restart the service when its training progress stalls this many seconds; 0 turns hang detection off. Default 120.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int? HangTimeoutSeconds { get; set; }

    /// <summary>Where the supervisor runs: <c>Local</c> (default, a detached process here) or <c>Slurm</c> (a batch job).</summary>
    [Parameter]
    [ValidateSet("Local", "Slurm")]
    public string Backend { get; set; } = "Local";

    /// <summary>The experiment the run belongs to, recorded in its run.json (Get-TrainingRun -Experiment).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 128)]
    public string? Experiment { get; set; }

    /// <summary>Labels recorded in the run's run.json (Get-TrainingRun -Tag).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 128)]
    public string[]? Tag { get; set; }

    /// <summary>Continue this earlier run (its checkpoints, metrics and record) instead of starting a new one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <summary>Continue the service's last run instead of starting a new one.</summary>
    [Parameter]
    public SwitchParameter Resume { get; set; }

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

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            // Only located here: -WhatIf must not even create the state directory.
            var state = LocateStateDirectory();
            if (FilePath is not null && ConfigPath is not null)
            {
                throw new ConfigurationException(new ConfigurationProblem(null, null, "ConfigPath",
                    "-ConfigPath is for the built-in trainer; with -FilePath pass the program's own options in -ArgumentList.")) { Service = Name };
            }

            var spec = FilePath is null
                ? BuiltInServices.Trainer(state, Name, ConfigPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigPath))
                : ServiceSpec.ForKind(ServiceKind.Training, Name, ResolveProgram(FilePath), ArgumentList);
            spec = spec with
            {
                RestartPolicy = RestartPolicy is null ? spec.RestartPolicy : ParsePolicy(RestartPolicy),
                Environment = Environment is null ? spec.Environment : Environment.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? ""),
                WorkingDirectory = WorkingDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(WorkingDirectory),
                RunAsUser = RunAsUser,
                HangTimeoutMs = HangTimeoutSeconds is { } hang ? hang * 1000 : spec.HangTimeoutMs,
                Slurm = SlurmOptions(),
                RunId = RunToContinue(state),
                Experiment = Experiment,
                Tags = Tag ?? [],
            };
            spec = WithRestartOptions(spec).Validate();
            if (!ShouldProcess($"service '{Name}' ({spec.FilePath} {string.Join(' ', spec.Arguments)}) in '{state.Root}'", "Start"))
            {
                return;
            }

            Start(spec);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, Name);
        }
    }

    /// <summary>The run -RunId or -Resume names (it must exist); null for a new run, which the start makes.</summary>
    private string? RunToContinue(Engine.State.StateDirectory state)
    {
        if (RunId is not null && Resume)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "Resume",
                "-RunId and -Resume both name the run to continue: give one of them.")) { Service = Name };
        }

        var runs = new Engine.Training.TrainingRuns(state);
        if (RunId is not null)
        {
            return Engine.State.StateDirectory.IsValidRunId(RunId) && runs.Read(RunId).HasDocument
                ? RunId
                : throw new ConfigurationException(new ConfigurationProblem(null, null, "RunId",
                    $"There is no run '{RunId}' in '{state.Root}'. Get-TrainingRun lists the runs; leave -RunId out to start a new one.")) { Service = Name };
        }

        return !Resume ? null
            : runs.LastRunOf(Name)?.RunId ?? throw new ConfigurationException(new ConfigurationProblem(null, null, "Resume",
                $"The service '{Name}' has no run to resume in '{state.Root}'. Leave -Resume out to start a new one.")) { Service = Name };
    }

    /// <summary>The Slurm options of -Backend Slurm; null for a local start, which refuses the Slurm-only parameters.</summary>
    private Engine.Models.SlurmJobOptions? SlurmOptions()
    {
        if (!string.Equals(Backend, "Slurm", StringComparison.OrdinalIgnoreCase))
        {
            var given = new[] { nameof(Partition), nameof(Gpus), nameof(CpusPerTask), nameof(MemoryMB), nameof(TimeLimit), nameof(Account), nameof(SignalBeforeLimitSeconds), nameof(SbatchArgument) }
                .Where(MyInvocation.BoundParameters.ContainsKey).ToList();
            return given.Count == 0
                ? null
                : throw new ConfigurationException(new ConfigurationProblem(null, null, given[0],
                    $"-{string.Join(", -", given)} {(given.Count == 1 ? "is" : "are")} for a Slurm job: add -Backend Slurm, or leave {(given.Count == 1 ? "it" : "them")} out.")) { Service = Name };
        }

        var defaults = new Engine.Models.SlurmJobOptions();
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

    internal static Engine.Models.RestartPolicy ParsePolicy(string policy) => policy.ToLowerInvariant() switch
    {
        "always" => Engine.Models.RestartPolicy.Always,
        "never" => Engine.Models.RestartPolicy.Never,
        _ => Engine.Models.RestartPolicy.OnFailure,
    };
}
