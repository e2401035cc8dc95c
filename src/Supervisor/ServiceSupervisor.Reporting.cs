using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>The heartbeat (sampling, limits, hang checks) and what the supervisor writes: status.json, events, refusals of unsafe files.</summary>
internal sealed partial class ServiceSupervisor
{
    /// <summary>Every second: sample the tree, reap adopted orphans, check training progress, write the heartbeat.</summary>
    private void Beat()
    {
        try
        {
            var run = _run;
            var pid = run is { Stopping: false } && !run.Exit.Task.IsCompleted ? run.Pid : 0;
            _children.Locked(own => _sampler.Sample(pid, own, Stopwatch.GetTimestamp(), Stopwatch.Frequency));

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

    /// <summary>From the heartbeat: posts a hang when the trainer's progress has stalled for the hang timeout (<see cref="HangDetector"/>).</summary>
    private void CheckProgress(ServiceRun run)
    {
        // The trainer reports in its run's folder; a service without a run has no progress to judge.
        if (_spec.RunId is not { } runId)
        {
            return;
        }

        var status = _store.Read<TrainingStatus>(_state.Run(runId).TrainingStatusPath).Document;
        if (_hang.Check(status, run.Pid, _time.GetUtcNow(), TimeSpan.FromMilliseconds(_spec.HangTimeoutMs), out var armed) is { } reason)
        {
            Post(new SupervisorMessage.Hung(run, reason));
        }
        else if (armed)
        {
            _log.Information("Hang detection armed for {Service} (pid {Pid})", _name, run.Pid);
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
            catch (StatusWriteException ex) when (ex.InnerException is UnsafeFileException refused)
            {
                Refused(refused);
            }
            catch (StabilityException ex)
            {
                _log.Error(ex, "Could not write status.json");
            }
        }
    }

    private StabilityEvent Event(string type, EventSeverity severity, string message, params (string Key, string Value)[] data) =>
        Event(type, severity, message, _time.GetUtcNow(), data);

    /// <summary>From a pump's thread: the service writes faster than its log rate limit and waits for the capture.</summary>
    private void Throttled(string stream, long limit) =>
        Event("log_throttled", EventSeverity.Warning,
            $"'{_name}' writes its {stream} faster than {limit / 1048576.0:0.#} MiB/s (log_rate_limit_bytes_per_second); it waits for the capture at that rate. Reported at most once a minute.",
            ("stream", stream), ("limit_bytes_per_second", Str(limit)));

    private StabilityEvent Event(string type, EventSeverity severity, string message, DateTimeOffset time, params (string Key, string Value)[] data)
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
        catch (StatusWriteException ex) when (ex.InnerException is UnsafeFileException refused)
        {
            Refused(refused);
        }
        catch (StabilityException ex)
        {
            _log.Error(ex, "Could not append to events.jsonl");
        }

        _log.Information("Event {Type}: {Message}", type, message);
        return stabilityEvent;
    }

    /// <summary>A link or a foreign file stood where the supervisor writes: reported once a minute per file, never written through.</summary>
    internal void Refused(UnsafeFileException refused)
    {
        lock (_refusalGate)
        {
            var now = _time.GetUtcNow();
            if (_refusalsReported.TryGetValue(refused.Path, out var last) && now - last < TimeSpan.FromMinutes(1))
            {
                return;
            }

            _refusalsReported[refused.Path] = now;
        }

        _log.Error("Refused an unsafe file: {Message}", refused.Message);
        if (!string.Equals(refused.Path, _state.EventsLogPath, StringComparison.Ordinal))
        {
            Event("unsafe_file", EventSeverity.Error, refused.Message, ("path", refused.Path), ("reason", refused.Reason));
        }
    }
}
