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
public sealed class StartTrainingProcessCommand : TrainerStartCommandBase
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

    /// <summary>Run the service as this user (needs a session running as root).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunAsUser { get; set; }

    /// <summary>The experiment the run belongs to, recorded in its run.json (Get-TrainingRun -Experiment).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 128)]
    public string? Experiment { get; set; }

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
            CheckTrainerOptions(_requested[0].Name);
            var slurm = SlurmOptions(_requested[0].Name);
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
        var spec = TrainerSpec(state, name, slurm);
        spec = spec with
        {
            RunAsUser = RunAsUser,
            RunId = RunToContinue(state, name),
            Experiment = Experiment,
            CheckpointRetentionRuns = KeepCheckpointRuns,
        };
        return spec.Validate();
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
}
