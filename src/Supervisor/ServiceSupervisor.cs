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
        _killer.EndLeftovers(previous);
        Publish(s => s with { LastControl = previous?.LastControl });
        Event("supervisor_started", EventSeverity.Info, $"Supervisor {_self.Pid} started for '{_name}' ({_spec.FilePath}).");
        using var control = new ControlWatcher(_state.ServiceControlPath(_name), _store, previous?.LastControl?.RequestId,
            (request, owner) => Post(new SupervisorMessage.Control(request, owner)), _time,
            writtenElsewhere: Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 });
        _control = control;
        _log.Information("Watching {Path} ({Mode})", _state.ServiceControlPath(_name),
            (control.Watching, control.Polling) switch { (true, false) => "file-system watch, checked again each tick", (true, true) => "file-system watch and poll", _ => "poll only" });
        _quotasWatch = WatchQuotas();
        _period = HeartbeatInterval;
        _ticker = _time.CreateTimer(_ => Tick(), null, TimeSpan.Zero, _period);

        Spawn();
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

                // The last events of a service run as another user (its end) reach the state directory's log too.
                _relay?.Pump();
                _ownDocument?.Pump();
                await Task.WhenAll(_alerter.DrainAsync(TimeSpan.FromSeconds(10)), _alerts.DrainAsync(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
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
        try
        {
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

            process = new Process { StartInfo = StartCommand.Build(_spec, _name, _state, _store, _memoryGroup, _ownDirectory) };
        }
        catch (StateDirectoryException ex)
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
        var run = new ServiceRun(_generation, process, identity?.StartTicks ?? 0, _time.GetUtcNow());
        _run = run;
        _tracker.RecordStart();
        _hang.Reset();
        _floor.Reset();
        _stdout.StartPump(process.StandardOutput.BaseStream, $"stdout of {run.Pid}");
        _stderr.StartPump(process.StandardError.BaseStream, $"stderr of {run.Pid}");
        _ = WaitForExitAsync(run);
        return run;
    }

    /// <summary>Records a started run (status, event) and arms its startup check or health probe.</summary>
    private void AnnounceRun(ServiceRun run)
    {
        var spec = _spec;
        Publish(s => s with
        {
            Status = ServiceState.Starting, Pid = run.Pid, PidStartTicks = run.StartTicks, StartTime = run.StartedAt,
            NextRestartAt = null, Restarts = _restarts, ErrorMessage = null, CpuPolicy = StartedPolicy(spec),
        });
        Event("started", EventSeverity.Info, $"Started '{_name}' as pid {run.Pid}.", run.StartedAt, ("pid", Str(run.Pid)));
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

        // A new run may need a sample each second (hang detection): the tick re-judges its pace now.
        Wake();
    }

    private async Task WaitForExitAsync(ServiceRun run)
    {
        await run.Process.WaitForExitAsync().ConfigureAwait(false);
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
