using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>What the supervisor writes: status.json, events, refusals of unsafe files.</summary>
internal sealed partial class ServiceSupervisor
{
    private void Publish(Func<ProcessStatus, ProcessStatus> change)
    {
        lock (_statusGate)
        {
            var next = change(_status);
            if (Liveness.IsFinal(next.Status) && !Liveness.IsFinal(_status.Status))
            {
                // Before the final state is visible: whoever sees the service ended also finds its run's end recorded.
                EndRun(next.Status, next.ErrorMessage);
            }

            _status = next;
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
                if (ex is StatusWriteException { IsDiskFull: true })
                {
                    // ENOSPC: a disk_full rule hears of it at the next tick, not a heartbeat later.
                    _diskCheckDue = true;
                }

                _log.Error(ex, "Could not write status.json");
            }
        }
    }

    /// <summary>
    /// An event that may call for notices: the rules of alerts.json decide (called from the loop only); the spec's own
    /// alert_command/alert_webhook_url (the older, per-spec alert) still gets fatal, hang and limit events as before.
    /// </summary>
    private void Alert(StabilityEvent stabilityEvent)
    {
        if (stabilityEvent.Type is "fatal" or "hang_detected" or "limit_exceeded")
        {
            _alerter.Alert(_spec, stabilityEvent);
        }

        _alerts.OnEvent(stabilityEvent);
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

    /// <summary>
    /// Supervision over: the run's end goes into run.json when its program did not record one (a <c>-FilePath</c>
    /// trainer that reports nothing, or one killed first), so the run never reads live after its service ended.
    /// </summary>
    private void EndRun(ServiceState final, string? error)
    {
        if (_spec.RunId is not { } runId)
        {
            return;
        }

        try
        {
            if (RunEnding.RecordUnreported(_store, _state, runId, final, error, _supervisionStarted, _time.GetUtcNow()) is { } run)
            {
                _log.Information("Recorded run {RunId} as {State}: its program did not", runId, run.State);
            }
        }
        catch (StabilityException ex)
        {
            _log.Error(ex, "Could not record the end of run {RunId}", runId);
        }
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
