using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>How a service is judged from what its supervisor wrote: alive (pid and start time, or a fresh heartbeat from another host), stale, or gone (the Engine's one liveness rule, Status/Liveness).</summary>
public sealed partial class ProcessManager
{
    private ReadResult<ProcessStatus> ReadStatus(string name) => _store.Read<ProcessStatus>(State.ServiceStatusPath(name));

    private int? LiveSupervisor(ProcessStatus? status) => LiveSupervisorIdentity(status)?.Pid;

    /// <summary>True when the service's supervisor is alive now (pid and start time, or a fresh heartbeat from another host).</summary>
    internal bool HasLiveSupervisor(string name) => LiveSupervisor(ReadStatus(name).Document) is not null;

    /// <summary>The supervisor of a non-final status when it is alive (pid and start time) and its heartbeat is fresh.</summary>
    private ProcessIdentity? LiveSupervisorIdentity(ProcessStatus? status)
    {
        if (status is null || status.SupervisorPid <= 0 || Liveness.IsFinal(status.Status))
        {
            return null;
        }

        if (status.Host is { } host && host != Environment.MachineName)
        {
            // Another host's supervisor (a cluster job): only its heartbeat tells.
            return !Liveness.IsStale(status, _options.TimeProvider.GetUtcNow(), _options.StaleAfter)
                ? new ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks)
                : null;
        }

        var identity = new ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks);
        return identity.IsAlive() ? identity : null;
    }

    private ServiceInfo Judge(string name, ReadResult<ProcessStatus> read)
    {
        var spec = _store.Read<ServiceSpec>(State.ServiceSpecPath(name)).Document;
        return BackendFor(spec).Merge(JudgeLocal(name, spec, read), read.Document);
    }

    private ServiceInfo JudgeLocal(string name, ServiceSpec? spec, ReadResult<ProcessStatus> read)
    {
        var kind = spec?.Kind ?? ServiceKind.Program;
        var info = new ServiceInfo { Name = name, Kind = StatusJson.WireName(kind), StateRoot = State.Root, RunId = read.Document?.RunId ?? spec?.RunId,
            HeartbeatIntervalMs = read.Document?.HeartbeatIntervalMs ?? spec?.HeartbeatIntervalMs };
        if (read.Document is not { } s)
        {
            return info with
            {
                State = ServiceState.Unknown,
                ErrorMessage = read.State == ReadState.Missing ? "No status yet: the service was never started, or its supervisor is starting." : $"status.json is {StatusJson.WireName(read.State)}: {read.Error}",
            };
        }

        info = info with
        {
            State = s.Status,
            Pid = s.Pid,
            SupervisorPid = s.SupervisorPid,
            StartTime = s.StartTime,
            LastHeartbeat = s.LastHeartbeat,
            Restarts = s.Restarts,
            LastExitCode = s.LastExitCode,
            LastExitSignal = s.LastExitSignal,
            CpuPercent = s.CpuUsage,
            MemoryMB = s.MemoryUsage,
            GpuMemoryMB = s.GpuMemoryMb,
            ErrorMessage = s.ErrorMessage,
            Host = s.Host,
            NextRestartAt = s.NextRestartAt,
            LastControl = s.LastControl,
            CpuPolicy = s.CpuPolicy,
            Status = s,
        };
        if (Liveness.IsFinal(s.Status))
        {
            return info with { Pid = 0 };
        }

        if (NeedsReplacement(s))
        {
            // Issue #22: the process runs on and is taken back by the next command, which is the one truth readers give.
            return info with { ErrorMessage = $"Its supervisor (pid {s.SupervisorPid}) died; pid {s.Pid} runs on and is taken back by the next StabilityTools command (supervisor restarting)." };
        }

        if (LiveSupervisorIdentity(s) is null)
        {
            return info with { State = ServiceState.Unknown, ErrorMessage = $"Its supervisor (pid {s.SupervisorPid}) is gone; the service may still run. Stop it (-Force) or start it again." };
        }

        // The bound the supervisor announced (3 of its heartbeats), not the bare floor: a 5 s heartbeat that is a few
        // milliseconds late under load must not make a healthy service read Unknown.
        var now = _options.TimeProvider.GetUtcNow();
        if (Liveness.IsStale(s, now, _options.StaleAfter))
        {
            var heartbeatAge = Liveness.HeartbeatAge(s, now);
            return info with { State = ServiceState.Unknown, ErrorMessage = $"Its supervisor (pid {s.SupervisorPid}) has not written a heartbeat for {heartbeatAge.TotalSeconds:0} s." };
        }

        return info;
    }
}
