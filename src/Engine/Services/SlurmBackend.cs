using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Supervisors as Slurm batch jobs (docs/SCALING.md): the job's state is merged into what its supervisor wrote (and noted
/// in <c>slurm.json</c> for the dashboard, <see cref="SlurmObservation"/>), a queued or running job counts as the service
/// being up, and a stop escalates from the supervisor to the scheduler.
/// </summary>
internal sealed class SlurmBackend : IServiceBackend
{
    private readonly ProcessManager _manager;
    private readonly StateDirectory _state;
    private readonly StatusStore _store;
    private readonly JsonLinesLog<StabilityEvent> _events;
    private readonly TimeProvider _time;
    private readonly Func<SlurmClient> _client;
    private readonly Func<IServiceLauncher> _launcher;

    /// <param name="manager">Asks the supervisor to stop (a control request) and tells whether it lives.</param>
    /// <param name="store">Reads the job record and the spec.</param>
    /// <param name="events">Where every scancel is audited.</param>
    /// <param name="time">The clock for waits.</param>
    /// <param name="client">The Slurm tools, made when first needed (a local service never runs one).</param>
    /// <param name="launcher">Submits the job, made when first needed.</param>
    public SlurmBackend(ProcessManager manager, StatusStore store, JsonLinesLog<StabilityEvent> events, TimeProvider time,
        Func<SlurmClient> client, Func<IServiceLauncher> launcher)
    {
        _manager = manager;
        _state = manager.State;
        _store = store;
        _events = events;
        _time = time;
        _client = client;
        _launcher = launcher;
    }

    private SlurmClient Client => _client();

    public Task<SupervisorLaunch> LaunchAsync(StateDirectory state, string service, CancellationToken cancellationToken) =>
        _launcher().LaunchAsync(state, service, cancellationToken);

    // The job's GPUs are the scheduler's to give (--gres), on a node this host cannot see: any local allocation goes.
    public void PrepareResources(ServiceSpec spec, IProgress<string>? progress) =>
        new ResourceManager(_state, NoGpuProbe.Instance, _store).ReleaseGpuResources(spec.Name);

    public BackendJob? UnfinishedJob(string name) =>
        ReadJobRecord(name) is { } record && Client.Query(record.JobId) is { IsFinished: false } job
            ? new BackendJob(job.JobId, job.State)
            : null;

    /// <summary>
    /// Merges what Slurm says of a service's job with what its supervisor wrote: a queued job is <c>pending</c> (with
    /// Slurm's reason), a job on its node whose supervisor has not written yet is <c>starting</c>, and a job that ended
    /// without its supervisor recording an end is <c>stopped</c> (cancelled) or <c>fatal</c> (failed, timed out, lost).
    /// </summary>
    public ServiceInfo Merge(ServiceInfo info, ProcessStatus? status)
    {
        info = info with { Backend = "slurm" };
        if (ReadJobRecord(info.Name) is not { } record)
        {
            return info;
        }

        info = info with { JobId = record.JobId };
        SlurmJob? job;
        try
        {
            job = Client.Query(record.JobId);
        }
        catch (SchedulerException ex)
        {
            return info with { ErrorMessage = info.ErrorMessage is null ? ex.Message : $"{info.ErrorMessage} ({ex.Message})" };
        }

        if (job is null)
        {
            // Slurm forgot the job (MinJobAge): what the supervisor wrote is all there is.
            return info;
        }

        SlurmObservation.Record(_store, _state, info.Name, job, _time.GetUtcNow());

        info = info with { JobState = job.State, JobReason = job.IsPending ? job.Reason : null, Node = job.BatchHost ?? job.NodeList };
        // A requeued job keeps its id: status.json belongs to the job's current run only when written after it started.
        var current = status is not null && job.StartTime is { } started && status.WrittenAt >= new DateTimeOffset(started);
        if (job.IsPending)
        {
            return info with
            {
                State = ServiceState.Pending, Pid = 0, CpuPercent = 0, MemoryMB = 0,
                ErrorMessage = job.Reason is { } reason ? $"Slurm holds job {job.JobId} back: {reason}." : null,
            };
        }

        if (job.IsActive)
        {
            return current ? info : info with { State = ServiceState.Starting, Pid = 0, CpuPercent = 0, MemoryMB = 0, ErrorMessage = null };
        }

        if (status is not null && Liveness.IsFinal(status.Status) && current)
        {
            return info;
        }

        if (job.State == "CANCELLED")
        {
            return info with
            {
                State = ServiceState.Stopped, Pid = 0, CpuPercent = 0, MemoryMB = 0,
                ErrorMessage = $"Slurm job {job.JobId} was cancelled{(job.BatchHost is null ? " before it ran" : $" on {job.BatchHost}")}.",
            };
        }

        var output = ServiceLogReader.ReadLines(SlurmLauncher.JobOutputPath(_state, info.Name, job.JobId));
        var said = output.Count == 0 ? "" : " Its batch output ends: " + string.Join(" | ", output.Skip(Math.Max(0, output.Count - 3)));
        return info with
        {
            State = ServiceState.Fatal, Pid = 0, CpuPercent = 0, MemoryMB = 0,
            ErrorMessage = $"Slurm job {job.JobId} ended {job.State} (exit {job.ExitCode ?? "?"}){(job.BatchHost is { } host ? $" on {host}" : "")} " +
                           $"before its supervisor recorded an end.{said}",
        };
    }

    /// <summary>
    /// Stops a service's Slurm job: a queued job is cancelled; a running one is asked through its supervisor first
    /// (the control request: graceful, the trainer checkpoints), then with <c>scancel --signal=TERM</c> and the grace
    /// period, then cancelled outright. Returns once Slurm has ended the job; false when there is no job to stop.
    /// </summary>
    public async Task<bool> TryStopAsync(string name, ServiceSpec spec, TimeSpan? timeout, bool force, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        if (ReadJobRecord(name) is not { } record)
        {
            return false;
        }

        var jobId = record.JobId;
        var job = Client.Query(jobId);
        if (job is null || job.IsFinished)
        {
            return true;
        }

        var graceful = timeout ?? spec.StopTimeout;
        if (job.IsActive && !force && _manager.HasLiveSupervisor(name))
        {
            progress?.Report($"Asking the supervisor of '{name}' (Slurm job {jobId} on {job.BatchHost ?? "its node"}) to stop it.");
            try
            {
                await _manager.SendAsync(name, ControlRequest.Create(ControlCommand.Stop, _time, graceful), cancellationToken).ConfigureAwait(false);
                // The supervisor ends after 'stopped', and with it the job.
                if (await WaitForJobEndAsync(jobId, graceful + TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (ProcessCommunicationException ex)
            {
                progress?.Report($"The supervisor of '{name}' did not answer ({ex.Message}); asking Slurm.");
            }
        }

        if (job.IsActive && !force)
        {
            progress?.Report($"Sending SIGTERM to Slurm job {jobId}; {graceful.TotalSeconds:0.#} s to end.");
            AuditCancel(name, jobId, "TERM");
            Client.Cancel(jobId, "TERM");
            if (await WaitForJobEndAsync(jobId, graceful, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        progress?.Report($"Cancelling Slurm job {jobId}.");
        AuditCancel(name, jobId, null);
        Client.Cancel(jobId);
        // Slurm signals TERM, waits its KillWait, then kills: allow for a long KillWait (default 30 s).
        if (!await WaitForJobEndAsync(jobId, TimeSpan.FromSeconds(90), cancellationToken).ConfigureAwait(false))
        {
            throw new ProcessCommunicationException($"Slurm job {jobId} of '{name}' did not end within 90 s of scancel. See squeue -j {jobId} and scontrol show job {jobId}.") { Service = name };
        }

        return true;
    }

    private void AuditCancel(string name, string jobId, string? signal) => _events.Append(new StabilityEvent
    {
        Time = _time.GetUtcNow(), Service = name, Type = "slurm_cancel", Severity = EventSeverity.Info,
        Message = signal is null ? $"scancel {jobId} for '{name}'." : $"scancel --signal={signal} {jobId} for '{name}'.",
        Pid = Environment.ProcessId, User = Environment.UserName, Host = Environment.MachineName,
    });

    /// <summary>Polls Slurm until the job has ended; false at the timeout. A job Slurm forgot has ended.</summary>
    private async Task<bool> WaitForJobEndAsync(string jobId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            if (Client.Query(jobId) is not { } job || job.IsFinished)
            {
                return true;
            }

            if (_time.GetUtcNow() > deadline)
            {
                return false;
            }

            // scontrol asks the controller: a poll ten times a second is plenty and spares it.
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private SlurmJobRecord? ReadJobRecord(string name) => _store.Read<SlurmJobRecord>(SlurmLauncher.RecordPath(_state, name)).Document;
}
