// Overview: one loop (RunAsync) owns every state change of the service; exit waiters, timers, the control
// watcher, the health probe and signal handlers only post SupervisorMessages into its channel. Idle, the supervisor
// sleeps until something happens (issue #16): the service exits (SIGCHLD), a control request or a quota change
// arrives (inotify), or the tick is due. The tick (ServiceSupervisor.Reporting.cs) samples the tree and rewrites
// status.json once per heartbeat interval (spec heartbeat_interval_ms, 5 s by default), every second only while
// hang detection or a limit needs a sample; it touches only heartbeat and usage fields, under the same lock as the
// loop's writes (Publish), so a long stop never makes the supervisor look dead.
// The loop's collaborators each do one thing and decide nothing: StartCommand (what to execute), ChildRegistry (the
// children .NET reaps), ServiceKiller (the two-stage stop), HangDetector (progress), HealthProbe (/healthz),
// HeartbeatReadiness (a trainer's first heartbeat), AlertDispatcher (the notices of alerts.json, sent off the loop). The
// loop's decisions are in ServiceSupervisor.Decisions.cs; what it writes in ServiceSupervisor.Reporting.cs.
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Serilog;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>Supervises one service from its <c>spec.json</c> until it is stopped, completes or goes fatal.</summary>
internal sealed partial class ServiceSupervisor : IDisposable
{
    private static readonly TimeSpan KillBound = ServiceKiller.KillBound;

    /// <summary>The exit code recorded for a taken-over run whose exit status only its former parent could have known.</summary>
    private const int AdoptedExitUnknown = 255;

    private readonly StateDirectory _state;
    private readonly string _name;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly StatusStore _store;
    private readonly JsonLinesLog<StabilityEvent> _events;
    private readonly Channel<SupervisorMessage> _inbox = Channel.CreateUnbounded<SupervisorMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _statusGate = new();
    private readonly object _refusalGate = new();
    private readonly Dictionary<string, DateTimeOffset> _refusalsReported = new(StringComparer.Ordinal);
    private readonly ChildRegistry _children = new();
    private readonly ServiceKiller _killer;
    private readonly HangDetector _hang = new();
    private readonly HealthProbe _health;
    private readonly TreeSampler _sampler = new();
    private readonly SystemMetricsRecorder _metrics;
    private readonly CpuFloor _floor;
    private LimitEnforcer? _limits;
    private readonly RotatingLog _stdout;
    private readonly RotatingLog _stderr;
    private readonly Alerter _alerter;
    private readonly AlertDispatcher _alerts;
    private readonly ServiceCgroup? _cgroup;
    private readonly MemoryCgroup? _memoryGroup;
    private long _limitHitsSeen;
    private readonly ProcessIdentity _self = ProcessIdentity.Current;
    private readonly DateTimeOffset _supervisionStarted;
    private ServiceSpec _spec;
    private RestartTracker _tracker;
    private ProcessStatus _status;
    private ServiceRun? _run;
    private int _generation;
    private int _restarts;
    private ITimer? _ticker;
    private ControlWatcher? _control;
    private FileSystemWatcher? _quotasWatch;
    private ITimer? _restartTimer;
    private RunEventRelay? _relay;
    private OwnDocumentRelay? _ownDocument;
    private string? _ownDirectory;

    public ServiceSupervisor(StateDirectory state, string name, ServiceSpec spec, ILogger log, TimeProvider? time = null)
    {
        _state = state;
        _name = name;
        _spec = spec;
        _log = log;
        _time = time ?? TimeProvider.System;
        _supervisionStarted = _time.GetUtcNow();
        // status.json is rewritten every heartbeat: atomic rename keeps it whole against crashes; fsync would only buy
        // durability against power loss for a document that is stale by then anyway.
        _store = new StatusStore(new StatusStoreOptions { Fsync = false, TimeProvider = _time });
        _events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath);
        _tracker = new RestartTracker(spec, _time);
        var logs = state.ServiceLogDirectory(name);
        _stdout = new RotatingLog(Path.Combine(logs, "stdout.log"), spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond, limit => Throttled("stdout", limit), Refused);
        _stderr = new RotatingLog(Path.Combine(logs, "stderr.log"), spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond, limit => Throttled("stderr", limit), Refused);
        // Where the platform offers a freezer cgroup, every process of the service is born into it, so nothing can
        // escape a stop (double forks, new sessions) or outlive a killed supervisor unnoticed.
        _cgroup = ServiceCgroup.TryOpen(state.Root, name, create: true);
        // Where a writable memory cgroup exists, a memory limit with the restart action is also a kernel-enforced one.
        _memoryGroup = MemoryCgroup.TryOpen(state.Root, name, create: true);
        _limitHitsSeen = _memoryGroup?.LimitHits() ?? 0;
        _alerter = new Alerter(_time, log, _children.Start, _children.Forget, (type, severity, message, data) => Event(type, severity, message, data));
        _alerts = new AlertDispatcher(state, name, _store, _time, log, _children.Start, _children.Forget, (type, severity, message, data) => Event(type, severity, message, data));
        _killer = new ServiceKiller(name, _cgroup, _children, _self.Pid, log, _time, (type, severity, message, data) => Event(type, severity, message, data),
            spec.Kind == ServiceKind.Sweep ? () => OtherSupervisors(state, name, _store) : null);
        _metrics = new SystemMetricsRecorder(state, name, log, Refused);
        _floor = new CpuFloor(FloorChanged);
        _health = new HealthProbe(_time, Post, OnProbeAnswered);
        _status = new ProcessStatus
        {
            Name = name,
            Kind = StatusJson.WireName(spec.Kind),
            RunId = spec.RunId,
            Status = ServiceState.Starting,
            SupervisorPid = _self.Pid,
            SupervisorStartTicks = _self.StartTicks,
            Host = Environment.MachineName,
            HeartbeatIntervalMs = spec.HeartbeatIntervalMs,
        };
    }

    /// <summary>Posts a message to the loop (signal handlers, watchers).</summary>
    public void Post(SupervisorMessage message) => _inbox.Writer.TryWrite(message);

    /// <summary>Runs until the service is stopped, completed or fatal. Returns the final state.</summary>
    public async Task<ServiceState> RunAsync()
    {
        var previous = _store.Read<ProcessStatus>(_state.ServiceStatusPath(_name)).Document;
        // A service its dead predecessor left running is taken back (issue #22), not killed: it never notices.
        var adopted = TryAdopt(previous);
        var replaced = false;
        ProcessStatus? predecessor = null;
        string? leftovers = null;
        if (adopted is null)
        {
            // Judged before the leftovers are ended: whether the previous supervisor died at its post, not how its service
            // fared. A Start-* hands over the dead supervisor's status in previous_status.json (it removes status.json).
            predecessor = previous ?? TakePredecessor();
            replaced = Liveness.SupervisorDiedAtItsPost(predecessor, _self);
            leftovers = _killer.EndLeftovers(previous);
            OutputPipe.RemoveAllBut(_state.ServiceDirectory(_name), keep: null);
            Publish(s => s with { LastControl = previous?.LastControl });
        }
        else
        {
            // Before the first heartbeat can write this supervisor's status: readers never see the service "starting"
            // again. Its supervisor_replaced event says the service was taken back, not started again.
            AnnounceAdoption(adopted, previous!);
        }

        Event("supervisor_started", EventSeverity.Info, $"Supervisor {_self.Pid} started for '{_name}' ({_spec.FilePath}).");
        if (replaced)
        {
            Alert(Event("supervisor_replaced", EventSeverity.Warning,
                $"Supervisor {predecessor!.SupervisorPid} of '{_name}' died (killed, not stopped) while the service was {StatusJson.WireName(predecessor.Status)}" +
                (predecessor.Pid > 0 ? $" as pid {predecessor.Pid}" : "") +
                (previous is null ? "; its leftover processes were ended by the start (see orphan_killed)" : leftovers is null ? "" : $"; {leftovers}") +
                $". Supervisor {_self.Pid} takes over and starts it again.",
                ("previous_supervisor_pid", Str(predecessor.SupervisorPid)), ("previous_state", StatusJson.WireName(predecessor.Status)),
                ("previous_pid", Str(predecessor.Pid))));
        }
        using var control = new ControlWatcher(_state.ServiceControlPath(_name), _store, previous?.LastControl?.RequestId,
            (request, owner) => Post(new SupervisorMessage.Control(request, owner)), _time,
            writtenElsewhere: Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 });
        _control = control;
        _log.Information("Watching {Path} ({Mode})", _state.ServiceControlPath(_name),
            (control.Watching, control.Polling) switch { (true, false) => "file-system watch, checked again each tick", (true, true) => "file-system watch and poll", _ => "poll only" });
        _quotasWatch = WatchQuotas();
        _period = HeartbeatInterval;
        _ticker = _time.CreateTimer(_ => Tick(), null, TimeSpan.Zero, _period);

        if (adopted is null)
        {
            Spawn();
        }

        await foreach (var message in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var final = await HandleAsync(message).ConfigureAwait(false);
            if (final is { } state)
            {
                _ticker.Dispose();
                _quotasWatch?.Dispose();
                _restartTimer?.Dispose();
                Publish(s => s with { LastHeartbeat = _time.GetUtcNow() });
                _log.Information("Supervision of {Service} ends: {State}", _name, state);
                _memoryGroup?.TryRemove();
                if (_cgroup is not null)
                {
                    var left = _cgroup.KillAll(KillBound);
                    _cgroup.TryRemove();
                    if (left.Count > 0)
                    {
                        _log.Error("Processes {Pids} of {Service} survived the cgroup kill", left, _name);
                    }
                }

                OutputPipe.RemoveAllBut(_state.ServiceDirectory(_name), keep: null);
                // The last events of a service run as another user (its end) reach the state directory's log too.
                _relay?.Pump();
                _ownDocument?.Pump();
                // Alerts still in flight, and what the service wrote last (still in its pipes), both finished before this
                // process ends; side by side, so neither bound adds to the other.
                await Task.WhenAll(_alerter.DrainAsync(TimeSpan.FromSeconds(10)), _alerts.DrainAsync(TimeSpan.FromSeconds(10)),
                    Task.Run(() => _stdout.WaitForPumps(TimeSpan.FromSeconds(2))), Task.Run(() => _stderr.WaitForPumps(TimeSpan.FromSeconds(2)))).ConfigureAwait(false);
                return state;
            }
        }

        return ServiceState.Unknown;
    }

    private async Task<ServiceState?> HandleAsync(SupervisorMessage message)
    {
        switch (message)
        {
            case SupervisorMessage.Exited(var run, var code) when run == _run && !run.Stopping:
                return OnExit(run, code);

            case SupervisorMessage.Promote(var run) when run == _run && !run.Promoted && _status.Status == ServiceState.Starting:
                run.Promoted = true;
                Publish(s => s with { Status = ServiceState.Running, ErrorMessage = null });
                _log.Information("{Service} is running (pid {Pid})", _name, run.Pid);
                // Past its startup check: a condition it had open (fatal, hang, a restart storm) has cleared.
                _alerts.OnRunning();
                return null;

            case SupervisorMessage.Hung(var run, var reason) when run == _run && !run.Stopping && run.HangReason is null:
                run.HangReason = reason;
                var hang = Event("hang_detected", EventSeverity.Error, $"'{_name}' (pid {run.Pid}) is hung: {reason} Restarting it.",
                    ("pid", Str(run.Pid)));
                Alert(hang);
                // Two-stage kill in the background; the exit then arrives as a failure and goes through the policy.
                // Not the cgroup here: the loop may restart the service meanwhile, into the same group.
                _ = _killer.KillRunAsync(run, _spec.StopTimeout, force: false, useCgroup: false);
                return null;

            case SupervisorMessage.LossNotFinite(var run, var what) when run == _run && !run.Stopping && !run.LossReported:
                run.LossReported = true;
                Alert(Event("loss_not_finite", EventSeverity.Error,
                    $"'{_name}' (pid {run.Pid}) reports a {what} in run {_spec.RunId}: training has diverged. Lower the learning rate or resume from an earlier checkpoint.",
                    ("pid", Str(run.Pid)), ("run_id", _spec.RunId ?? ""), ("value", what)));
                return null;

            case SupervisorMessage.LimitExceeded(var run, var violation) when run == _run && !run.Stopping && run.HangReason is null:
                return await OnLimitExceededAsync(run, violation).ConfigureAwait(false);

            case SupervisorMessage.Condition(var reading):
                // Not tied to a run: a condition the tick reported stays reported, whichever run it was judged on.
                _alerts.OnCondition(reading);
                return null;

            case SupervisorMessage.RestartDue(var generation) when generation == _generation && _status.Status == ServiceState.Backoff:
                Spawn();
                return null;

            case SupervisorMessage.Control(var request, var owner):
                return await OnControlAsync(request, owner).ConfigureAwait(false);

            case SupervisorMessage.TimeLimitNear(var jobId) when _status.Status is not ServiceState.Fatal:
                return await OnTimeLimitNearAsync(jobId).ConfigureAwait(false);

            case SupervisorMessage.Terminate when _status.Status == ServiceState.Fatal:
                // The service could not even be launched: nothing to stop, and fatal it stays.
                return ServiceState.Fatal;

            case SupervisorMessage.Terminate(var signal):
                Event("supervisor_signal", EventSeverity.Warning, $"The supervisor got {signal}; stopping '{_name}'.");
                await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = null, NextRestartAt = null });
                return ServiceState.Stopped;

            default:
                return null;
        }
    }

    /// <summary>Starts a new run and announces it.</summary>
    private void Spawn()
    {
        if (StartRun() is { } run)
        {
            AnnounceRun(run);
        }
    }

    /// <summary>Starts the service process; null (and the service fatal) when it cannot be launched at all.</summary>
    private LimitEnforcer NewLimitEnforcer() => new(_name, _state, _store, _time, GpuProbe.Detect(), _memoryGroup);

    private ServiceRun? StartRun()
    {
        _generation++;
        _restartTimer?.Dispose();
        Process process;
        string pipe;
        Stream output, error;
        try
        {
            // Named pipes for its output, open for reading before it starts: what it writes waits there for whichever
            // supervisor reads, this one or its replacement (issue #22).
            var serviceDirectory = _state.ServiceDirectory(_name);
            pipe = OutputPipe.Create(serviceDirectory);
            var (outPath, errPath) = OutputPipe.PathsOf(serviceDirectory, pipe);
            output = OutputPipe.OpenReader(outPath);
            error = OutputPipe.OpenReader(errPath);

            if (StartCommand.DelegatedAccount(_spec) is { } account)
            {
                // Its run's folder becomes the user's (once); the service reaches it through a descriptor, nothing above it.
                var handed = RunDelegation.HandOver(_state, _spec.RunId!, account);
                _relay ??= new RunEventRelay(_name, handed, _events);
            }

            if (StartCommand.ConfinedDashboardAccount(_spec) is { } reader)
            {
                // A folder of its own for the one document it writes; the state directory it may only read.
                _ownDirectory ??= RunDelegation.HandOverOwnDirectory(_state, _name, reader);
                var file = StateDirectory.DashboardStateFileName(_name);
                _ownDocument ??= new OwnDocumentRelay(Path.Combine(_ownDirectory, file), Path.Combine(_state.DataDirectory, file), _store);
            }

            process = new Process { StartInfo = StartCommand.Build(_spec, _name, _state, _store, _memoryGroup, (outPath, errPath), _ownDirectory) };
        }
        catch (Exception ex) when (ex is StateDirectoryException or IOException)
        {
            Publish(s => s with { Status = ServiceState.Fatal, Pid = 0, ErrorMessage = $"The service could not be launched: {ex.Message}" });
            Alert(Event("fatal", EventSeverity.Error, $"'{_name}' could not be launched: {ex.Message}"));
            Post(new SupervisorMessage.Terminate("launch failure"));
            return null;
        }

        try
        {
            // The kernel limit is in force before the service can allocate: it joins the group before its program runs.
            (_limits ??= NewLimitEnforcer()).ApplyHardMemoryLimit();
            _children.Start(process);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            output.Dispose();
            error.Dispose();
            OutputPipe.Remove(_state.ServiceDirectory(_name), pipe);
            Publish(s => s with { Status = ServiceState.Fatal, Pid = 0, ErrorMessage = $"The service could not be launched: {ex.Message}" });
            Alert(Event("fatal", EventSeverity.Error, $"'{_name}' could not be launched: {ex.Message}"));
            Post(new SupervisorMessage.Terminate("launch failure"));
            return null;
        }

        if (_cgroup is not null && !_cgroup.Add(process.Id))
        {
            _log.Warning("Could not move pid {Pid} into {Cgroup}; stops fall back to walking /proc", process.Id, _cgroup.Path);
        }

        var identity = ProcessIdentity.Of(process.Id);
        var run = new ServiceRun(_generation, process, process.Id, identity?.StartTicks ?? 0, _time.GetUtcNow(), pipe);
        _run = run;
        _tracker.RecordStart();
        _hang.Reset();
        _floor.Reset();
        _stdout.StartPump(output, $"stdout of {run.Pid}");
        _stderr.StartPump(error, $"stderr of {run.Pid}");
        _ = WaitForExitAsync(run);
        return run;
    }

    /// <summary>
    /// The run a dead predecessor left running, taken back (issue #22): the same service process (pid and start time in
    /// the previous status.json), alive and not a zombie, of the same run, on this host, with its named pipes still
    /// there. Null when there is nothing to take back; the caller then ends leftovers and starts afresh as before.
    /// </summary>
    private ServiceRun? TryAdopt(ProcessStatus? previous)
    {
        if (previous is not { Pid: > 0, PidStartTicks: not 0, OutputPipe: { } pipe } || Liveness.IsFinal(previous.Status)
            || previous.Status is ServiceState.Backoff or ServiceState.Unknown || previous.Host != Environment.MachineName
            || previous.RunId != _spec.RunId || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var service = new ProcessIdentity(previous.Pid, previous.PidStartTicks);
        var serviceDirectory = _state.ServiceDirectory(_name);
        if (!service.IsAlive() || ExitWatch.IsZombie(previous.Pid) || !OutputPipe.Exists(serviceDirectory, pipe))
        {
            return null;
        }

        Stream output, error;
        try
        {
            var (outPath, errPath) = OutputPipe.PathsOf(serviceDirectory, pipe);
            output = OutputPipe.OpenReader(outPath);
            try
            {
                error = OutputPipe.OpenReader(errPath);
            }
            catch
            {
                output.Dispose();
                throw;
            }
        }
        catch (IOException ex)
        {
            _log.Warning(ex, "Could not open the output pipes of pid {Pid}; it is ended and started afresh", previous.Pid);
            return null;
        }

        _generation++;
        var run = new ServiceRun(_generation, null, previous.Pid, previous.PidStartTicks, previous.StartTime ?? _time.GetUtcNow(), pipe)
        {
            Promoted = previous.Status == ServiceState.Running,
        };
        _run = run;
        _restarts = previous.Restarts;
        _stdout.StartPump(output, $"stdout of {run.Pid}");
        _stderr.StartPump(error, $"stderr of {run.Pid}");
        _ = WaitForAdoptedExitAsync(run);
        return run;
    }

    /// <summary>Records the run taken back (status, event) and, when it was not running yet, arms its startup check again.</summary>
    private void AnnounceAdoption(ServiceRun run, ProcessStatus previous)
    {
        var now = _time.GetUtcNow();
        Publish(s => s with
        {
            Status = run.Promoted ? ServiceState.Running : ServiceState.Starting, Pid = run.Pid, PidStartTicks = run.StartTicks,
            StartTime = run.StartedAt, Restarts = _restarts, LastExitCode = previous.LastExitCode, LastExitSignal = previous.LastExitSignal,
            LastExitTime = previous.LastExitTime, CpuPolicy = previous.CpuPolicy, OutputPipe = run.Pipe, AdoptedAt = now, ErrorMessage = null,
            LastControl = previous.LastControl,
        });
        Alert(Event("supervisor_replaced", EventSeverity.Warning,
            $"Supervisor {_self.Pid} took '{_name}' (pid {run.Pid}, running since {run.StartedAt:yyyy-MM-dd HH:mm:ss} UTC) back from supervisor {previous.SupervisorPid}, which died; the service was not restarted.", now,
            ("pid", Str(run.Pid)), ("previous_supervisor_pid", Str(previous.SupervisorPid)), ("adopted", "true")));
        if (!run.Promoted)
        {
            ArmStartupCheck(run, _spec);
        }
        else
        {
            // Running under its new supervisor: the replacement's notice (and any condition left open) resolves now.
            _alerts.OnRunning();
        }

        Wake();
    }

    /// <summary>
    /// The exit of a run taken back from a dead predecessor: the kernel tells a pidfd (or /proc, polled), but only the
    /// service's parent learns its exit status. A trainer's own record says how it ended (completed: 0); otherwise the
    /// status is unknown and counts as a failure, so that a crash is never taken for a clean end.
    /// </summary>
    private async Task WaitForAdoptedExitAsync(ServiceRun run)
    {
        var how = await ExitWatch.WaitAsync(new ProcessIdentity(run.Pid, run.StartTicks), CancellationToken.None).ConfigureAwait(false);
        _log.Information("Taken-over pid {Pid} of {Service} exited (noticed through {How})", run.Pid, _name, how);
        var recorded = _spec.RunId is { } runId ? _store.Read<TrainingStatus>(_state.Run(runId).TrainingStatusPath).Document : null;
        var code = recorded is { Pid: var pid, State: TrainerState.Completed } && pid == run.Pid ? 0 : AdoptedExitUnknown;
        run.Monitors.Cancel();
        run.Exit.TrySetResult(code);
        Post(new SupervisorMessage.Exited(run, code));
    }

    /// <summary>Records a started run (status, event) and arms its startup check or health probe.</summary>
    private void AnnounceRun(ServiceRun run)
    {
        var spec = _spec;
        Publish(s => s with
        {
            Status = ServiceState.Starting, Pid = run.Pid, PidStartTicks = run.StartTicks, StartTime = run.StartedAt,
            NextRestartAt = null, Restarts = _restarts, ErrorMessage = null, CpuPolicy = StartedPolicy(spec), OutputPipe = run.Pipe, AdoptedAt = null,
        });
        Event("started", EventSeverity.Info, $"Started '{_name}' as pid {run.Pid}.", run.StartedAt, ("pid", Str(run.Pid)));
        ArmStartupCheck(run, spec);

        // A new run may need a sample each second (hang detection): the tick re-judges its pace now.
        Wake();
    }

    /// <summary>Arms what promotes a run to running: a trainer's first heartbeat, the health probe, or the startup grace.</summary>
    private void ArmStartupCheck(ServiceRun run, ServiceSpec spec)
    {
        if (spec.HealthUrl is null && spec.ReadyOnHeartbeat)
        {
            _ = new HeartbeatReadiness(_store, _state, _time, Post).RunAsync(run, spec, run.Monitors.Token);
        }
        else if (spec.HealthUrl is null)
        {
            if (spec.StartupGraceMs == 0)
            {
                Post(new SupervisorMessage.Promote(run));
            }
            else
            {
                _ = DelayThenPostAsync(TimeSpan.FromMilliseconds(spec.StartupGraceMs), new SupervisorMessage.Promote(run), run.Monitors.Token);
            }
        }
        else
        {
            _ = _health.RunAsync(run, spec, run.Monitors.Token);
        }
    }

    private async Task WaitForExitAsync(ServiceRun run)
    {
        await run.Process!.WaitForExitAsync().ConfigureAwait(false);
        var code = run.Process.ExitCode;
        _children.Forget(run.Pid);
        run.Monitors.Cancel();
        run.Exit.TrySetResult(code);
        Post(new SupervisorMessage.Exited(run, code));
    }

    /// <summary>Two-stage stop of the current run, if any: graceful signal, bounded wait, kill of the whole tree.</summary>
    private async Task StopCurrentAsync(TimeSpan timeout, bool force)
    {
        _restartTimer?.Dispose();
        _generation++;
        if (_run is { } run)
        {
            run.Stopping = true;
            await _killer.KillRunAsync(run, timeout, force, useCgroup: true).ConfigureAwait(false);
            _log.Information("{Service} (pid {Pid}) stopped", _name, run.Pid);
        }

        _run = null;
    }

    private async Task DelayThenPostAsync(TimeSpan delay, SupervisorMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            Post(message);
        }
        catch (OperationCanceledException)
        {
            // The run ended first.
        }
    }

    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _ticker?.Dispose();
        _quotasWatch?.Dispose();
        _restartTimer?.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
        _health.Dispose();
        _alerts.Dispose();
    }

    /// <summary>The status a <c>Start-*</c> kept of a supervisor killed at its post (previous_status.json), removed once read; null when none.</summary>
    private ProcessStatus? TakePredecessor()
    {
        var path = _state.ServicePreviousStatusPath(_name);
        var read = _store.Read<ProcessStatus>(path);
        if (read.State != ReadState.Missing)
        {
            try
            {
                _store.Delete(path);
            }
            catch (StabilityException ex)
            {
                _log.Warning(ex, "Could not remove {Path}", path);
            }
        }

        return read.Document;
    }

    /// <summary>The live supervisors of the state directory's other services (by pid and start time in their status.json).</summary>
    private static IReadOnlySet<int> OtherSupervisors(StateDirectory state, string self, StatusStore store)
    {
        var live = new HashSet<int>();
        foreach (var other in state.ListServices().Where(n => n != self))
        {
            if (store.Read<ProcessStatus>(state.ServiceStatusPath(other)).Document is { SupervisorPid: > 0 } status
                && new ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks).IsAlive())
            {
                live.Add(status.SupervisorPid);
            }
        }

        return live;
    }
}
