using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>What the loop decides when a run exits, a limit is crossed, a control request arrives or the Slurm time limit nears (called only from the loop).</summary>
internal sealed partial class ServiceSupervisor
{
    /// <summary>
    /// Ahead of the Slurm time limit: the service is stopped the graceful way (a trainer finishes its step and
    /// checkpoints on SIGTERM), then the job is requeued. Slurm starts it again under the same id, and this supervisor's
    /// successor starts the service, which resumes from the checkpoint. Without a requeueable job the run simply ends.
    /// </summary>
    private async Task<ServiceState?> OnTimeLimitNearAsync(string jobId)
    {
        Event("time_limit", EventSeverity.Warning, $"Slurm job {jobId} nears its time limit: stopping '{_name}' so that it checkpoints, then requeueing the job to go on from there.",
            ("job_id", jobId));
        await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
        string outcome;
        try
        {
            new Engine.Slurm.SlurmClient().Requeue(jobId);
            outcome = $"Checkpointed ahead of the Slurm time limit; job {jobId} is requeued and goes on from the checkpoint.";
            Event("requeued", EventSeverity.Info, outcome, ("job_id", jobId));
        }
        catch (Engine.Errors.SchedulerException ex)
        {
            outcome = $"Checkpointed ahead of the Slurm time limit, but job {jobId} could not be requeued: {ex.Message} Start it again to go on from the checkpoint.";
            Event("requeue_failed", EventSeverity.Error, outcome, ("job_id", jobId));
        }

        Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = outcome, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
        return ServiceState.Stopped;
    }

    /// <summary>Acts on a quota or limit violation as configured: warn (event and alert), restart, or stop.</summary>
    private async Task<ServiceState?> OnLimitExceededAsync(ServiceRun run, Engine.Resources.LimitViolation violation)
    {
        var text = $"'{_name}' (pid {run.Pid}): {violation.Describe()}";
        var exceeded = Event("limit_exceeded", violation.Action == QuotaAction.Warn ? EventSeverity.Warning : EventSeverity.Error, text,
            ("pid", Str(run.Pid)), ("kind", violation.Kind), ("used_mb", Str((long)violation.UsedMb)), ("limit_mb", Str((long)violation.LimitMb)),
            ("action", StatusJson.WireName(violation.Action)), ("device", violation.Device is { } d ? Str(d) : ""));
        Alert(exceeded);
        switch (violation.Action)
        {
            case QuotaAction.Restart:
                // Like a hang: a two-stage kill, after which the exit counts as a failure and the restart policy applies.
                run.HangReason = text;
                _ = _killer.KillRunAsync(run, _spec.StopTimeout, force: false, useCgroup: false);
                return null;

            case QuotaAction.Stop:
                await StopCurrentAsync(_spec.StopTimeout, force: false).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = text, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
                Event("stopped", EventSeverity.Warning, $"'{_name}' stopped: it was over its limit.");
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
            Pid = next?.Pid ?? 0, PidStartTicks = next?.StartTicks ?? 0, StartTime = next?.StartedAt ?? s.StartTime, OutputPipe = next?.Pipe, AdoptedAt = null,
            Status = next is null ? s.Status : ServiceState.Starting,
            LastExitCode = code, LastExitSignal = signal, LastExitTime = now, CpuUsage = 0, MemoryUsage = 0,
        });
        _killer.KillRemnants(run, useCgroup: false);
        if (code != 0 && _memoryGroup?.LimitHits() is { } hits && hits > _limitHitsSeen)
        {
            _limitHitsSeen = hits;
            var limit = _memoryGroup.ReadLimit();
            var hard = Event("limit_exceeded", EventSeverity.Error,
                $"'{_name}' (pid {run.Pid}) ran into its hard memory limit of {(limit ?? 0) / 1048576.0:0} MiB, enforced by the kernel, and ended; action: restart.", now,
                ("pid", Str(run.Pid)), ("kind", "memory"), ("limit_mb", Str((limit ?? 0) / 1048576)), ("action", StatusJson.WireName(QuotaAction.Restart)), ("enforced_by", "cgroup"));
            Alert(hard);
        }

        if (run.Pipe is { } pipe)
        {
            // Its readers hold their own descriptors and read to the end; the names are no longer needed.
            OutputPipe.Remove(_state.ServiceDirectory(_name), pipe);
        }

        var how = run.Adopted && code == AdoptedExitUnknown ? "ended (its exit status is not known: it was taken over from a supervisor that died)"
            : signal is { } sig ? $"was killed by signal {sig}" : $"exited with code {code}";
        Event("exited", code == 0 ? EventSeverity.Info : EventSeverity.Warning, $"'{_name}' (pid {run.Pid}) {how} after {(now - run.StartedAt).TotalSeconds:0.###} s.", now,
            ("pid", Str(run.Pid)), ("exit_code", Str(code)), ("signal", signal is { } s2 ? Str(s2) : ""));
        switch (decision.Action)
        {
            case RestartAction.Restart:
                _restarts++;
                var restarting = Event("restarting", EventSeverity.Warning, $"Restarting '{_name}' in {decision.Delay.TotalMilliseconds:0} ms ({decision.RestartsInWindow} restarts within the circuit window).", now,
                    ("delay_ms", Str((long)decision.Delay.TotalMilliseconds)), ("restarts", Str(_restarts)));
                Alert(restarting);
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
                Event("completed", EventSeverity.Info, $"'{_name}' completed (exit code 0).");
                return ServiceState.Completed;

            default:
                Publish(s => s with { Status = ServiceState.Fatal, ErrorMessage = decision.Reason });
                var fatal = Event("fatal", EventSeverity.Error, $"'{_name}' is fatal: {decision.Reason}", ("exit_code", Str(code)));
                Alert(fatal);
                return ServiceState.Fatal;
        }
    }

    private async Task<ServiceState?> OnControlAsync(ControlRequest request, int? owner)
    {
        // Who asked is what the kernel says: the uid that owns control.json. What the writer put in requested_by is
        // kept, marked as a claim, because anyone who can write the file can write anything there.
        var by = request.RequestedBy;
        var command = StatusJson.WireName(request.Command);
        var asker = owner is { } uid ? $"{SafeFile.UserName(uid)} (uid {uid}, the file's owner)" : (by?.User ?? "?");
        var audit = new (string Key, string Value)[]
        {
            ("request_id", request.RequestId), ("command", command),
            ("requested_by_uid", owner is { } u ? Str(u) : ""), ("requested_by_user", owner is { } o ? SafeFile.UserName(o) : by?.User ?? ""),
            ("claimed_pid", Str(by?.Pid ?? 0)), ("claimed_user", by?.User ?? ""), ("claimed_host", by?.Host ?? ""),
        };
        if (owner is { } foreign && !SafeFile.IsTrustedOwner(foreign))
        {
            Event("request_refused", EventSeverity.Error,
                $"'{command}' refused: control.json is owned by {asker}, not by the supervisor's user or root. Someone else can write '{_state.ServiceDirectory(_name)}': see docs/SECURITY.md.",
                audit);
            Ack(request, "refused", $"control.json is owned by uid {foreign}; only the supervisor's own user or root may steer '{_name}'.", null);
            return null;
        }

        Event("control", EventSeverity.Info, $"'{command}' requested by {asker}, claimed pid {by?.Pid} on {by?.Host ?? "?"}.", audit);
        var timeout = request.StopTimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : _spec.StopTimeout;
        switch (request.Command)
        {
            case ControlCommand.Stop:
                Ack(request, "ok", null, ServiceState.Stopping);
                await StopCurrentAsync(timeout, request.Force).ConfigureAwait(false);
                Publish(s => s with { Status = ServiceState.Stopped, Pid = 0, ErrorMessage = null, NextRestartAt = null, CpuUsage = 0, MemoryUsage = 0 });
                Event("stopped", EventSeverity.Info, $"'{_name}' stopped on request of {by?.User ?? "?"}.");
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
                    if (read.OwnerUid is { } specOwner && !SafeFile.IsTrustedOwner(specOwner))
                    {
                        Event("request_refused", EventSeverity.Error,
                            $"reload-limits refused: spec.json is owned by {SafeFile.UserName(specOwner)} (uid {specOwner}), not by the supervisor's user or root.",
                            [.. audit, ("spec_owner_uid", Str(specOwner))]);
                        Ack(request, "refused", $"spec.json is owned by uid {specOwner}; nothing was reloaded.", null);
                        return null;
                    }

                    // A reload changes limits only: what runs, as whom, and what an alert runs come from the spec the
                    // service was started with; a new command line takes a new Start.
                    var reloaded = read.GetDocumentOrThrow().Validate(read.Path);
                    var spec = _spec.WithLimitsFrom(reloaded);
                    if (_spec.ExecutionDiffersFrom(reloaded) is { } ignored)
                    {
                        Event("reload_ignored_execution", EventSeverity.Warning,
                            $"reload-limits for '{_name}' applied the limits only; the spec's {ignored} changed too, which takes a new Start.",
                            [.. audit, ("ignored", ignored)]);
                    }

                    _spec = spec;
                    _tracker.UpdateSpec(spec);
                    _stdout.Reconfigure(spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond);
                    _stderr.Reconfigure(spec.LogMaxBytes, spec.LogMaxFiles, spec.LogRateLimitBytesPerSecond);
                    Ack(request, "ok", "The limits were reloaded.", null);
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
            LastControl = new ControlAck(request.RequestId, StatusJson.WireName(request.Command), outcome, _time.GetUtcNow(), message),
            Status = state ?? s.Status,
        });
}
