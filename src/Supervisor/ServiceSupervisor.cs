// Overview: one loop (RunAsync) owns every state change of the service; exit waiters, timers, the control
// watcher, the health probe and signal handlers only post SupervisorMessages into its channel. The heartbeat
// timer samples the tree and rewrites status.json every second, touching only heartbeat and usage fields, under
// the same lock as the loop's writes (Publish), so a long stop never makes the supervisor look dead.
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
internal sealed class ServiceSupervisor : IDisposable
{
    private static readonly TimeSpan KillBound = TimeSpan.FromSeconds(5);

    private readonly StateDirectory _state;
    private readonly string _name;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly StatusStore _store;
    private readonly JsonLinesLog<StabilityEvent> _events;
    private readonly Channel<SupervisorMessage> _inbox = Channel.CreateUnbounded<SupervisorMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _statusGate = new();
    private readonly object _childGate = new();
    private readonly HashSet<int> _ownChildren = [];
    private readonly TreeSampler _sampler = new();
    private LimitEnforcer? _limits;
    private readonly RotatingLog _stdout;
    private readonly RotatingLog _stderr;
    private readonly Alerter _alerter;
    private readonly ServiceCgroup? _cgroup;
    private readonly MemoryCgroup? _memoryGroup;
    private long _limitHitsSeen;
    private readonly ProcessIdentity _self = ProcessIdentity.Current;
    private ServiceSpec _spec;
    private RestartTracker _tracker;
    private ProcessStatus _status;
    private ServiceRun? _run;
    private int _generation;
    private int _restarts;
    private ITimer? _heartbeat;
    private ITimer? _restartTimer;
    private HttpClient? _http;
    private long _progress = -1;
    private DateTimeOffset _progressAt;
    private bool _hangArmed;

    public ServiceSupervisor(StateDirectory state, string name, ServiceSpec spec, ILogger log, TimeProvider? time = null)
    {
        _state = state;
        _name = name;
        _spec = spec;
        _log = log;
        _time = time ?? TimeProvider.System;
        // status.json is rewritten every second: atomic rename keeps it whole against crashes; fsync would only buy
        // durability against power loss for a document that is stale by then anyway.
        _store = new StatusStore(new StatusStoreOptions { Fsync = false, TimeProvider = _time });
        _events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath);
        _tracker = new RestartTracker(spec, _time);
        var logs = state.ServiceLogDirectory(name);
        _stdout = new RotatingLog(Path.Combine(logs, "stdout.log"), spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond, limit => Throttled("stdout", limit));
        _stderr = new RotatingLog(Path.Combine(logs, "stderr.log"), spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond, limit => Throttled("stderr", limit));
        // Where the platform offers a freezer cgroup, every process of the service is born into it, so nothing can
        // escape a stop (double forks, new sessions) or outlive a killed supervisor unnoticed.
        _cgroup = ServiceCgroup.TryOpen(state.Root, name, create: true);
        // Where a writable memory cgroup exists, a memory limit with the restart action is also a kernel-enforced one.
        _memoryGroup = MemoryCgroup.TryOpen(state.Root, name, create: true);
        _limitHitsSeen = _memoryGroup?.LimitHits() ?? 0;
        _alerter = new Alerter(_time, log, StartChild, pid => { lock (_childGate) { _ownChildren.Remove(pid); } });
        _status = new ProcessStatus
        {
            Name = name,
            Kind = spec.Kind.ToString().ToLowerInvariant(),
            Status = ServiceState.Starting,
            SupervisorPid = _self.Pid,
            SupervisorStartTicks = _self.StartTicks,
            Host = Environment.MachineName,
        };
    }

    /// <summary>Posts a message to the loop (signal handlers, watchers).</summary>
    public void Post(SupervisorMessage message) => _inbox.Writer.TryWrite(message);

    /// <summary>Runs until the service is stopped, completed or fatal. Returns the final state.</summary>
    public async Task<ServiceState> RunAsync()
    {
        var previous = _store.Read<ProcessStatus>(_state.ServiceStatusPath(_name)).Document;
        EndLeftovers(previous);
        Publish(s => s with { LastControl = previous?.LastControl });
        Event("supervisor_started", "info", $"Supervisor {_self.Pid} started for '{_name}' ({_spec.FilePath}).");
        _heartbeat = _time.CreateTimer(_ => Beat(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        using var control = new ControlWatcher(_state.ServiceControlPath(_name), _store, previous?.LastControl?.RequestId,
            request => Post(new SupervisorMessage.Control(request)), _time);
        _log.Information("Watching {Path} ({Mode})", _state.ServiceControlPath(_name), control.Watching ? "file-system watch and poll" : "poll only");

        Spawn();
        await foreach (var message in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var final = await HandleAsync(message).ConfigureAwait(false);
            if (final is { } state)
            {
                _heartbeat.Dispose();
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

                await _alerter.DrainAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
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
                return null;

            case SupervisorMessage.Hung(var run, var reason) when run == _run && !run.Stopping && run.HangReason is null:
                run.HangReason = reason;
                var hang = Event("hang_detected", "error", $"'{_name}' (pid {run.Pid}) is hung: {reason} Restarting it.",
                    ("pid", Str(run.Pid)));
                _alerter.Alert(_spec, hang);
                // Two-stage kill in the background; the exit then arrives as a failure and goes through the policy.
                // Not the cgroup here: the loop may restart the service meanwhile, into the same group.
                _ = KillRunAsync(run, _spec.StopTimeout, force: false, useCgroup: false);
                return null;

            case SupervisorMessage.LimitExceeded(var run, var violation) when run == _run && !run.Stopping && run.HangReason is null:
                return await OnLimitExceededAsync(run, violation).ConfigureAwait(false);

            case SupervisorMessage.RestartDue(var generation) when generation == _generation && _status.Status == ServiceState.Backoff:
                Spawn();
                return null;

            case SupervisorMessage.Control(var request):
                return await OnControlAsync(request).ConfigureAwait(false);

            case SupervisorMessage.TimeLimitNear(var jobId) when _status.Status is not ServiceState.Fatal:
                return await OnTimeLimitNearAsync(jobId).ConfigureAwait(false);

            case SupervisorMessage.Terminate when _status.Status == ServiceState.Fatal:
                // The service could not even be launched: nothing to stop, and fatal it stays.
                return ServiceState.Fatal;

            case SupervisorMessage.Terminate(var signal):
                Event("supervisor_signal", "warning", $"The supervisor got {signal}; stopping '{_name}'.");
                await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = null, NextRestartAt = null });
                return ServiceState.Stopped;

            default:
                return null;
        }
    }

    /// <summary>
    /// Ahead of the Slurm time limit: the service is stopped the graceful way (a trainer finishes its step and
    /// checkpoints on SIGTERM), then the job is requeued. Slurm starts it again under the same id, and this supervisor's
    /// successor starts the service, which resumes from the checkpoint. Without a requeueable job the run simply ends.
    /// </summary>
    private async Task<ServiceState?> OnTimeLimitNearAsync(string jobId)
    {
        Event("time_limit", "warning", $"Slurm job {jobId} nears its time limit: stopping '{_name}' so that it checkpoints, then requeueing the job to go on from there.",
            ("job_id", jobId));
        await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
        string outcome;
        try
        {
            new Engine.Services.Slurm.SlurmClient().Requeue(jobId);
            outcome = $"Checkpointed ahead of the Slurm time limit; job {jobId} is requeued and goes on from the checkpoint.";
            Event("requeued", "info", outcome, ("job_id", jobId));
        }
        catch (Engine.Errors.SchedulerException ex)
        {
            outcome = $"Checkpointed ahead of the Slurm time limit, but job {jobId} could not be requeued: {ex.Message} Start it again to go on from the checkpoint.";
            Event("requeue_failed", "error", outcome, ("job_id", jobId));
        }

        Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = outcome, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
        return ServiceState.Stopped;
    }

    /// <summary>Acts on a quota or limit violation as configured: warn (event and alert), restart, or stop.</summary>
    private async Task<ServiceState?> OnLimitExceededAsync(ServiceRun run, Engine.Resources.LimitViolation violation)
    {
        var text = $"'{_name}' (pid {run.Pid}): {violation.Describe()}";
        var exceeded = Event("limit_exceeded", violation.Action == Engine.Resources.QuotaAction.Warn ? "warning" : "error", text,
            ("pid", Str(run.Pid)), ("kind", violation.Kind), ("used_mb", Str((long)violation.UsedMb)), ("limit_mb", Str((long)violation.LimitMb)),
            ("action", violation.Action), ("device", violation.Device is { } d ? Str(d) : ""));
        _alerter.Alert(_spec, exceeded);
        switch (violation.Action)
        {
            case Engine.Resources.QuotaAction.Restart:
                // Like a hang: a two-stage kill, after which the exit counts as a failure and the restart policy applies.
                run.HangReason = text;
                _ = KillRunAsync(run, _spec.StopTimeout, force: false, useCgroup: false);
                return null;

            case Engine.Resources.QuotaAction.Stop:
                await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = text, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
                Event("stopped", "warning", $"'{_name}' stopped: it was over its limit.");
                return ServiceState.Stopped;

            default:
                return null;
        }
    }

    private ServiceState? OnExit(ServiceRun run, int code)
    {
        // .NET reports a death by signal as 128 + the signal; a real exit code above 128 reads the same.
        int? signal = code is > 128 and <= 128 + 64 ? code - 128 : null;
        var now = _time.GetUtcNow();
        var decision = _tracker.OnExit(code, run.HangReason is null ? signal : signal ?? Native.SIGKILL);

        // The restart path is the latency that matters: the old group dies at once (one syscall, so the new run
        // never meets its predecessor, e.g. on a still-bound port), the new process starts, and only then come the
        // sweep for escaped descendants, the events and status.json.
        Native.SignalGroup(run.Pid, Native.SIGKILL);
        _cgroup?.KillAll(KillBound);
        var immediate = decision.Action == RestartAction.Restart && decision.Delay <= TimeSpan.Zero;
        var next = immediate ? StartRun() : null;
        Publish(s => s with
        {
            Pid = next?.Pid ?? 0, PidStartTicks = next?.StartTicks ?? 0, StartTime = next?.StartedAt ?? s.StartTime,
            Status = next is null ? s.Status : ServiceState.Starting,
            LastExitCode = code, LastExitSignal = signal, LastExitTime = now, CpuUsage = 0, MemoryUsage = 0,
        });
        KillRemnants(run, useCgroup: false);
        if (code != 0 && _memoryGroup?.LimitHits() is { } hits && hits > _limitHitsSeen)
        {
            _limitHitsSeen = hits;
            var limit = _memoryGroup.ReadLimit();
            var hard = Event("limit_exceeded", "error",
                $"'{_name}' (pid {run.Pid}) ran into its hard memory limit of {(limit ?? 0) / 1048576.0:0} MiB, enforced by the kernel, and ended; action: restart.", now,
                ("pid", Str(run.Pid)), ("kind", "memory"), ("limit_mb", Str((limit ?? 0) / 1048576)), ("action", QuotaAction.Restart), ("enforced_by", "cgroup"));
            _alerter.Alert(_spec, hard);
        }

        var how = signal is { } sig ? $"was killed by signal {sig}" : $"exited with code {code}";
        Event("exited", code == 0 ? "info" : "warning", $"'{_name}' (pid {run.Pid}) {how} after {(now - run.StartedAt).TotalSeconds:0.###} s.", now,
            ("pid", Str(run.Pid)), ("exit_code", Str(code)), ("signal", signal is { } s2 ? Str(s2) : ""));
        switch (decision.Action)
        {
            case RestartAction.Restart:
                _restarts++;
                Event("restarting", "warning", $"Restarting '{_name}' in {decision.Delay.TotalMilliseconds:0} ms ({decision.RestartsInWindow} restarts within the circuit window).", now,
                    ("delay_ms", Str((long)decision.Delay.TotalMilliseconds)), ("restarts", Str(_restarts)));
                if (immediate)
                {
                    if (next is not null)
                    {
                        AnnounceRun(next);
                    }
                }
                else
                {
                    var generation = ++_generation;
                    Publish(s => s with
                    {
                        Status = ServiceState.Backoff, Restarts = _restarts, NextRestartAt = now + decision.Delay,
                        ErrorMessage = run.HangReason ?? $"It {how}; restarting in {decision.Delay.TotalSeconds:0.###} s.",
                    });
                    _restartTimer?.Dispose();
                    _restartTimer = _time.CreateTimer(_ => Post(new SupervisorMessage.RestartDue(generation)), null, decision.Delay, Timeout.InfiniteTimeSpan);
                }

                return null;

            case RestartAction.Complete:
                Publish(s => s with { Status = ServiceState.Completed, ErrorMessage = null });
                Event("completed", "info", $"'{_name}' completed (exit code 0).");
                return ServiceState.Completed;

            default:
                Publish(s => s with { Status = ServiceState.Fatal, ErrorMessage = decision.Reason });
                var fatal = Event("fatal", "error", $"'{_name}' is fatal: {decision.Reason}", ("exit_code", Str(code)));
                _alerter.Alert(_spec, fatal);
                return ServiceState.Fatal;
        }
    }

    private async Task<ServiceState?> OnControlAsync(ControlRequest request)
    {
        var by = request.RequestedBy;
        Event("control", "info", $"'{request.Command.ToString().ToLowerInvariant()}' requested by {by?.User ?? "?"} (pid {by?.Pid}) on {by?.Host ?? "?"}.",
            ("request_id", request.RequestId), ("command", request.Command.ToString().ToLowerInvariant()), ("requested_by_pid", Str(by?.Pid ?? 0)), ("requested_by_user", by?.User ?? ""));
        var timeout = request.StopTimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : _spec.StopTimeout;
        switch (request.Command)
        {
            case ControlCommand.Stop:
                Ack(request, "ok", null, ServiceState.Stopping);
                await StopCurrentAsync(timeout, request.Force).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = null, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
                Event("stopped", "info", $"'{_name}' stopped on request of {by?.User ?? "?"}.");
                return ServiceState.Stopped;

            case ControlCommand.Restart:
                Ack(request, "ok", null, ServiceState.Stopping);
                await StopCurrentAsync(timeout, request.Force).ConfigureAwait(false);
                _tracker.Reset();
                _restarts++;
                Publish(s => s with { Restarts = _restarts });
                Spawn();
                return null;

            default:
                try
                {
                    var read = _store.Read<ServiceSpec>(_state.ServiceSpecPath(_name));
                    var spec = read.GetDocumentOrThrow().Validate(read.Path);
                    _spec = spec;
                    _tracker.UpdateSpec(spec);
                    _stdout.Reconfigure(spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond);
                    _stderr.Reconfigure(spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond);
                    Ack(request, "ok", "The spec was reloaded.", null);
                }
                catch (StabilityException ex)
                {
                    Ack(request, "rejected", ex.Message, null);
                }

                return null;
        }
    }

    private void Ack(ControlRequest request, string outcome, string? message, ServiceState? state) =>
        Publish(s => s with
        {
            LastControl = new ControlAck(request.RequestId, request.Command.ToString().ToLowerInvariant() switch { "reloadlimits" => "reload-limits", var c => c }, outcome, _time.GetUtcNow(), message),
            Status = state ?? s.Status,
        });

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
        var process = new Process { StartInfo = BuildStartInfo(_spec) };
        try
        {
            // The kernel limit is in force before the service can allocate: it joins the group before its program runs.
            (_limits ??= NewLimitEnforcer()).ApplyHardMemoryLimit();
            StartChild(process);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Publish(s => s with { Status = ServiceState.Fatal, Pid = 0, ErrorMessage = $"The service could not be launched: {ex.Message}" });
            Event("fatal", "error", $"'{_name}' could not be launched: {ex.Message}");
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
        _hangArmed = false;
        _progress = -1;
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
            NextRestartAt = null, Restarts = _restarts, ErrorMessage = null,
        });
        Event("started", "info", $"Started '{_name}' as pid {run.Pid}.", run.StartedAt, ("pid", Str(run.Pid)));
        if (spec.HealthUrl is null)
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
            _ = ProbeHealthAsync(run, spec, run.Monitors.Token);
        }
    }

    private ProcessStartInfo BuildStartInfo(ServiceSpec spec)
    {
        // setsid(1) execs the program in a new session (the pid stays the same: a freshly forked child is not a group
        // leader, so setsid needs no fork). nice(1) and setpriv(1) exec in turn, so the service keeps that pid too.
        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = spec.WorkingDirectory ?? _state.Root,
        };
        info.FileName = ExecutableResolver.Resolve("setsid") ?? "/usr/bin/setsid";
        if (spec.Nice is { } nice)
        {
            info.ArgumentList.Add(ExecutableResolver.Resolve("nice") ?? "/usr/bin/nice");
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(Str(nice));
        }

        if (spec.RunAsUser is { } user && UserAccount.Find(user) is { } account)
        {
            info.ArgumentList.Add(ExecutableResolver.Resolve("setpriv") ?? "/usr/bin/setpriv");
            info.ArgumentList.Add($"--reuid={Str(account.Uid)}");
            info.ArgumentList.Add($"--regid={Str(account.Gid)}");
            info.ArgumentList.Add("--init-groups");
            info.Environment["HOME"] = account.Home;
            info.Environment["USER"] = account.Name;
            info.Environment["LOGNAME"] = account.Name;
        }

        info.ArgumentList.Add(ExecutableResolver.Resolve(spec.FilePath) ?? spec.FilePath);
        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in spec.Environment)
        {
            info.Environment[key] = value;
        }

        info.Environment[StateDirectory.HomeVariable] = _state.Root;
        info.Environment["STABILITY_SERVICE"] = _name;
        if (spec.HideGpus || spec.Kind == ServiceKind.Dashboard)
        {
            info.Environment["CUDA_VISIBLE_DEVICES"] = "";
            info.Environment["NVIDIA_VISIBLE_DEVICES"] = "none";
        }
        else if (_store.Read<ResourceQuotas>(_state.QuotasPath).Document is { } resources
                 && resources.GpuAllocations.FirstOrDefault(a => a.Service == _name) is { Devices.Count: > 0 } gpus)
        {
            // The ResourceManager's allocation (made by the start, before this supervisor was launched).
            info.Environment["CUDA_VISIBLE_DEVICES"] = ResourceManager.CudaVisibleDevices(gpus);
            // Under MPS the quota becomes a hard limit inside CUDA itself; sampling still watches and reports.
            if (MpsLimit.IsDaemonActive() && MpsLimit.For(resources.GpuQuotas.Where(q => q.Service == _name).ToList(), gpus.Devices) is { } limit)
            {
                info.Environment[MpsLimit.Variable] = limit;
            }
        }

        if (_memoryGroup is not null)
        {
            // Join the memory cgroup before the program runs, so a limit holds from its first allocation: a shell
            // writes its own pid into the group and execs the rest (same pid throughout, as with setsid).
            var chain = new List<string> { "-c", "echo $$ > \"$0\" 2>/dev/null; exec \"$@\"", Path.Combine(_memoryGroup.Path, "cgroup.procs"), info.FileName };
            chain.AddRange(info.ArgumentList);
            info.FileName = "/bin/sh";
            info.ArgumentList.Clear();
            foreach (var argument in chain)
            {
                info.ArgumentList.Add(argument);
            }
        }

        return info;
    }

    private void StartChild(Process process)
    {
        // Under the gate the orphan reaper also takes: a child that exits at once is never reaped from under .NET.
        lock (_childGate)
        {
            process.Start();
            _ownChildren.Add(process.Id);
        }
    }

    private async Task WaitForExitAsync(ServiceRun run)
    {
        await run.Process.WaitForExitAsync().ConfigureAwait(false);
        var code = run.Process.ExitCode;
        lock (_childGate)
        {
            _ownChildren.Remove(run.Pid);
        }

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
            await KillRunAsync(run, timeout, force, useCgroup: true).ConfigureAwait(false);
            _log.Information("{Service} (pid {Pid}) stopped", _name, run.Pid);
        }

        _run = null;
    }

    private async Task KillRunAsync(ServiceRun run, TimeSpan timeout, bool force, bool useCgroup)
    {
        if (!force && !run.Exit.Task.IsCompleted)
        {
            Native.SignalGroup(run.Pid, Native.SIGTERM);
            await Task.WhenAny(run.Exit.Task, Task.Delay(timeout, _time)).ConfigureAwait(false);
            if (!run.Exit.Task.IsCompleted)
            {
                Event("stop_timeout", "warning", $"'{_name}' (pid {run.Pid}) ignored SIGTERM for {timeout.TotalSeconds:0.###} s; killing its whole tree.");
            }
        }

        // Always, even after a graceful exit: grandchildren that ignored the signal, left the group, or were
        // double-forked (adopted by this subreaper) must not survive the service.
        var survivors = await Task.Run(() => KillRemnants(run, useCgroup)).ConfigureAwait(false);
        if (await Task.WhenAny(run.Exit.Task, Task.Delay(KillBound, _time)).ConfigureAwait(false) != run.Exit.Task || survivors.Count > 0)
        {
            Event("kill_failed", "error", $"Processes of '{_name}' survived SIGKILL for {KillBound.TotalSeconds:0} s: {string.Join(", ", survivors)}.");
        }
    }

    private IReadOnlyList<int> KillRemnants(ServiceRun run, bool useCgroup)
    {
        var inGroup = useCgroup && _cgroup is not null ? _cgroup.KillAll(KillBound) : [];

        HashSet<int> exclude;
        lock (_childGate)
        {
            exclude = [.. _ownChildren.Where(p => p != run.Pid)];
        }

        var survivors = ProcessTreeKiller.KillTree(run.Pid, run.Pid, _self.Pid, exclude, KillBound).Concat(inGroup).Distinct().ToList();
        if (survivors.Count > 0)
        {
            _log.Error("Processes {Survivors} of {Service} survived SIGKILL", survivors, _name);
        }

        return survivors;
    }

    /// <summary>Ends a service left running by a supervisor that died (found by pid and start time in the old status.json).</summary>
    private void EndLeftovers(ProcessStatus? previous)
    {
        // The cgroup remembers every process of the previous run, even those that left its session and were
        // re-parented to init when their supervisor died.
        if (_cgroup?.Members() is { Count: > 0 } members)
        {
            var left = _cgroup.KillAll(KillBound);
            Event("orphan_killed", "warning",
                $"Killed {members.Count} process(es) of '{_name}' ({string.Join(", ", members)}) left running by a supervisor that is gone, so that it never runs twice." +
                (left.Count > 0 ? $" Survivors: {string.Join(", ", left)}." : ""));
            return;
        }

        if (previous is null || previous.Pid <= 0 || previous.PidStartTicks == 0 || previous.Host != Environment.MachineName)
        {
            return;
        }

        var leftover = new ProcessIdentity(previous.Pid, previous.PidStartTicks);
        if (!leftover.IsAlive())
        {
            return;
        }

        var survivors = ProcessTreeKiller.KillTree(previous.Pid, previous.Pid, 0, null, KillBound);
        Event("orphan_killed", "warning",
            $"Killed pid {previous.Pid} of '{_name}', left running by supervisor {previous.SupervisorPid} that is gone, so that it never runs twice." +
            (survivors.Count > 0 ? $" Survivors: {string.Join(", ", survivors)}." : ""),
            ("pid", Str(previous.Pid)));
    }

    /// <summary>Every second: sample the tree, reap adopted orphans, check training progress, write the heartbeat.</summary>
    private void Beat()
    {
        try
        {
            var run = _run;
            var pid = run is { Stopping: false } && !run.Exit.Task.IsCompleted ? run.Pid : 0;
            lock (_childGate)
            {
                _sampler.Sample(pid, _ownChildren, Stopwatch.GetTimestamp(), Stopwatch.Frequency);
            }

            if (run is not null && pid != 0 && _spec.HangTimeoutMs > 0)
            {
                CheckProgress(run);
            }

            if (run is not null && pid != 0)
            {
                _limits ??= NewLimitEnforcer();
                foreach (var violation in _limits.Check(_sampler.TreePids, _sampler.MemoryMb))
                {
                    Post(new SupervisorMessage.LimitExceeded(run, violation));
                }
            }

            Publish(s => s with
            {
                LastHeartbeat = _time.GetUtcNow(),
                CpuUsage = pid == 0 ? 0 : _sampler.CpuPercent,
                MemoryUsage = pid == 0 ? 0 : _sampler.MemoryMb,
                GpuMemoryMb = pid == 0 ? null : _limits?.GpuMemoryMb,
            });
        }
        catch (Exception ex)
        {
            // The heartbeat must keep beating: log and count, never let the timer die.
            _log.Error(ex, "Heartbeat failed");
        }
    }

    /// <summary>
    /// Hang detection by progress: armed only once <c>training_status.json</c> carries this run's pid, so a program
    /// that never beats a heartbeat is never judged hung.
    /// </summary>
    private void CheckProgress(ServiceRun run)
    {
        var now = _time.GetUtcNow();
        var status = _store.Read<TrainingStatus>(_state.TrainingStatusPath).Document;
        if (status is null || status.Pid != run.Pid)
        {
            return;
        }

        if (!_hangArmed || status.Progress != _progress)
        {
            if (!_hangArmed)
            {
                _log.Information("Hang detection armed for {Service} (pid {Pid})", _name, run.Pid);
            }

            _hangArmed = true;
            _progress = status.Progress;
            _progressAt = now;
            return;
        }

        var stalled = now - _progressAt;
        if (stalled >= TimeSpan.FromMilliseconds(_spec.HangTimeoutMs))
        {
            Post(new SupervisorMessage.Hung(run, $"its progress has stayed at {_progress} for {stalled.TotalSeconds:0.#} s (hang_timeout_ms {_spec.HangTimeoutMs})."));
            _progressAt = now;
        }
    }

    private async Task ProbeHealthAsync(ServiceRun run, ServiceSpec spec, CancellationToken cancellationToken)
    {
        // Each probe on a fresh connection, closed after the answer: a pooled connection would still get answers from a
        // dashboard that refuses every new client (all its connections taken), and the probe would call it healthy.
        // The certificate is not checked: the probe sends nothing secret and reads only the status code.
        _http ??= new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromMilliseconds(spec.HealthTimeoutMs),
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        var failures = 0;
        var startDeadline = _time.GetUtcNow() + TimeSpan.FromMilliseconds(spec.StartupTimeoutMs);
        string? lastError = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var ok = false;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(spec.HealthTimeoutMs);
                    using var request = new HttpRequestMessage(HttpMethod.Get, spec.HealthUrl) { Headers = { ConnectionClose = true } };
                    using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                    ok = response.IsSuccessStatusCode;
                    lastError = ok ? null : $"HTTP {(int)response.StatusCode}";
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    lastError = ex.Message;
                }

                if (!run.Promoted)
                {
                    if (ok)
                    {
                        Post(new SupervisorMessage.Promote(run));
                    }
                    else if (_time.GetUtcNow() > startDeadline)
                    {
                        Post(new SupervisorMessage.Hung(run, $"{spec.HealthUrl} did not answer within {spec.StartupTimeoutMs / 1000.0:0.#} s of the start ({lastError})."));
                        return;
                    }
                }
                else
                {
                    failures = ok ? 0 : failures + 1;
                    if (failures >= spec.HealthFailureThreshold)
                    {
                        Post(new SupervisorMessage.Hung(run, $"{spec.HealthUrl} failed {failures} probes in a row ({lastError})."));
                        return;
                    }
                }

                await Task.Delay(run.Promoted ? TimeSpan.FromMilliseconds(spec.HealthIntervalMs) : TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
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

    private void Publish(Func<ProcessStatus, ProcessStatus> change)
    {
        lock (_statusGate)
        {
            _status = change(_status);
            try
            {
                _status = _store.Write(_state.ServiceStatusPath(_name), _status);
            }
            catch (StabilityException ex)
            {
                _log.Error(ex, "Could not write status.json");
            }
        }
    }

    private StabilityEvent Event(string type, string severity, string message, params (string Key, string Value)[] data) =>
        Event(type, severity, message, _time.GetUtcNow(), data);

    /// <summary>From a pump's thread: the service writes faster than its log rate limit and waits for the capture.</summary>
    private void Throttled(string stream, long limit) =>
        Event("log_throttled", "warning",
            $"'{_name}' writes its {stream} faster than {limit / 1048576.0:0.#} MiB/s (log_rate_limit_bytes_per_second); it waits for the capture at that rate. Reported at most once a minute.",
            ("stream", stream), ("limit_bytes_per_second", Str(limit)));

    private StabilityEvent Event(string type, string severity, string message, DateTimeOffset time, params (string Key, string Value)[] data)
    {
        var stabilityEvent = new StabilityEvent
        {
            Time = time,
            Service = _name,
            Type = type,
            Severity = severity,
            Message = message,
            Pid = _self.Pid,
            User = Environment.UserName,
            Host = Environment.MachineName,
            Data = data.Length == 0 ? null : data.ToDictionary(d => d.Key, d => d.Value),
        };
        try
        {
            _events.Append(stabilityEvent);
        }
        catch (StabilityException ex)
        {
            _log.Error(ex, "Could not append to events.jsonl");
        }

        _log.Information("Event {Type}: {Message}", type, message);
        return stabilityEvent;
    }

    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _heartbeat?.Dispose();
        _restartTimer?.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
        _http?.Dispose();
    }
}
