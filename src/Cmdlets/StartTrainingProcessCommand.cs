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
    private readonly List<(string Name, string? StateRoot)> _requested = [];

    /// <summary>
    /// The services to start, each with the same settings, all at once. Default <c>training</c>. Also from the
    /// pipeline: names, or objects with a Name (and StateRoot) property such as Get-ProcessStatus output.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [BuiltInServices.TrainingName];

    /// <summary>The state directory of piped services (their <c>StateRoot</c> property); -StateDirectory wins.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("StateRoot")]
    public string? PipedStateRoot { get; set; }

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

    /// <summary>
    /// Keep the checkpoints of this service's newest N runs only: each new run's start removes those of its older
    /// finished runs (their records, metrics and final models stay). Default: every run's checkpoints are kept.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 10_000)]
    public int? KeepCheckpointRuns { get; set; }

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
    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!_requested.Contains((name, PipedStateRoot)))
            {
                _requested.Add((name, PipedStateRoot));
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            // Problems of the whole call end it before anything starts; a bad name is that name's error only.
            if (FilePath is not null && ConfigPath is not null)
            {
                throw new ConfigurationException(new ConfigurationProblem(null, null, "ConfigPath",
                    "-ConfigPath is for the built-in trainer; with -FilePath pass the program's own options in -ArgumentList.")) { Service = _requested[0].Name };
            }

            if (FilePath is null && StartupGraceSeconds is not null)
            {
                throw new ConfigurationException(new ConfigurationProblem(null, null, "StartupGraceSeconds",
                    "-StartupGraceSeconds is for a -FilePath program: the built-in trainer is running at its first heartbeat. Leave it out, or add -FilePath.")) { Service = _requested[0].Name };
            }

            var slurm = SlurmOptions();
            foreach (var group in _requested.GroupBy(r => r.StateRoot))
            {
                // Only located here: -WhatIf must not even create the state directory.
                var state = LocateStateDirectory(group.Key);
                var specs = new List<ServiceSpec>();
                foreach (var (name, _) in group)
                {
                    try
                    {
                        var spec = BuildSpec(state, name, slurm);
                        if (ShouldProcess($"service '{name}' ({spec.FilePath} {string.Join(' ', spec.Arguments)}) in '{state.Root}'", "Start"))
                        {
                            specs.Add(spec);
                        }
                    }
                    catch (ConfigurationException ex) when (!Engine.State.StateDirectory.IsValidServiceName(name))
                    {
                        WriteStabilityError(ex, name);
                    }
                }

                if (specs.Count > 0)
                {
                    StartMany(OpenStateDirectory(group.Key), specs);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, _requested.Count == 1 ? _requested[0].Name : string.Join(", ", _requested.Select(r => r.Name)));
        }
    }

    private ServiceSpec BuildSpec(Engine.State.StateDirectory state, string name, Engine.Models.SlurmJobOptions? slurm)
    {
        var spec = FilePath is null
            ? BuiltInServices.Trainer(state, name, ConfigPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigPath))
            : ServiceSpec.ForKind(ServiceKind.Training, name, ResolveProgram(FilePath), ArgumentList);
        spec = spec with
        {
            RestartPolicy = RestartPolicy is null ? spec.RestartPolicy : ParsePolicy(RestartPolicy),
            Environment = Environment is null ? spec.Environment : Environment.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? ""),
            WorkingDirectory = WorkingDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(WorkingDirectory),
            RunAsUser = RunAsUser,
            HangTimeoutMs = HangTimeoutSeconds is { } hang ? hang * 1000 : spec.HangTimeoutMs,
            StartupGraceMs = StartupGraceSeconds is { } grace ? (int)Math.Round(grace * 1000) : spec.StartupGraceMs,
            Slurm = slurm,
            RunId = RunToContinue(state, name),
            Experiment = Experiment,
            Tags = Tag ?? [],
            CheckpointRetentionRuns = KeepCheckpointRuns,
        };
        return WithRestartOptions(spec).Validate();
    }

    /// <summary>The run -RunId or -Resume names (it must exist); null for a new run, which the start makes.</summary>
    private string? RunToContinue(Engine.State.StateDirectory state, string name)
    {
        if (RunId is not null && Resume)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "Resume",
                "-RunId and -Resume both name the run to continue: give one of them.")) { Service = name };
        }

        if (RunId is not null && _requested.Count > 1)
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "RunId",
                "-RunId continues one run, which belongs to one service: give one name with it (-Resume continues each service's last run).")) { Service = name };
        }

        var runs = new Engine.Training.TrainingRuns(state);
        if (RunId is not null)
        {
            return Engine.State.StateDirectory.IsValidRunId(RunId) && runs.Read(RunId).HasDocument
                ? RunId
                : throw new ConfigurationException(new ConfigurationProblem(null, null, "RunId",
                    $"There is no run '{RunId}' in '{state.Root}'. Get-TrainingRun lists the runs; leave -RunId out to start a new one.")) { Service = name };
        }

        return !Resume ? null
            : runs.LastRunOf(name)?.RunId ?? throw new ConfigurationException(new ConfigurationProblem(null, null, "Resume",
                $"The service '{name}' has no run to resume in '{state.Root}'. Leave -Resume out to start a new one.")) { Service = name };
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
                    $"-{string.Join(", -", given)} {(given.Count == 1 ? "is" : "are")} for a Slurm job: add -Backend Slurm, or leave {(given.Count == 1 ? "it" : "them")} out.")) { Service = _requested[0].Name };
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
