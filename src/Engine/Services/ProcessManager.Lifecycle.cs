using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>The waits and clean-ups behind start, stop and restart: until a new service runs, until a supervisor answers, until nothing of a failed start is left.</summary>
public sealed partial class ProcessManager
{
    /// <summary>
    /// Until the new supervisor reports the service <c>running</c> (the supervisor decides when: a trainer's first
    /// heartbeat, a health URL's first answer, or the startup grace of a program that cannot say), or, without
    /// <paramref name="untilReady"/>, until its supervisor runs and has written its status.
    /// </summary>
    private async Task<ServiceInfo> WaitForStartAsync(ServiceSpec spec, SupervisorLaunch launch, bool untilReady, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var name = spec.Name;
        var bound = _options.StartTimeout + TimeSpan.FromMilliseconds(Math.Max(spec.StartupGraceMs, spec.HealthUrl is null && !spec.ReadyOnHeartbeat ? 0 : spec.StartupTimeoutMs));
        var time = _options.TimeProvider;
        var deadline = time.GetUtcNow() + bound;
        var reported = ServiceState.Unknown;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var status = ReadStatus(name).Document;
            if (status is not null && (launch.Pid is null || status.SupervisorPid == launch.Pid))
            {
                if (status.Status != reported)
                {
                    reported = status.Status;
                    progress?.Report($"'{name}' is {StatusJson.WireName(status.Status)}.");
                }

                switch (status.Status)
                {
                    case ServiceState.Running or ServiceState.Completed:
                        return Judge(name, ReadStatus(name));
                    case ServiceState.Starting when !untilReady:
                        return Judge(name, ReadStatus(name));
                    case ServiceState.Fatal when status.LastExitCode == ServiceSpec.PortInUseExitCode && spec.FatalExitCodes.Contains(ServiceSpec.PortInUseExitCode):
                        var resource = spec.Port is { } port ? $"port {port}" : "its port";
                        throw new ResourceConflictException(resource,
                            $"The service '{name}' could not start: {resource} is in use by another process. Stop that process, or start '{name}' on another port (-Port).")
                        { Service = name };
                    case ServiceState.Fatal or ServiceState.Backoff or ServiceState.Stopped:
                        throw new ServiceStartException(name, status.ErrorMessage ?? $"it is {StatusJson.WireName(status.Status)}.", LogTail(name, 20));
                }
            }

            if (launch.Exited.IsCompleted)
            {
                // The supervisor ended: give its last status a moment to be read above, then report.
                var last = ReadStatus(name).Document;
                if (last?.Status is ServiceState.Running or ServiceState.Completed or ServiceState.Fatal && last.SupervisorPid == launch.Pid)
                {
                    continue;
                }

                var said = launch.Diagnostics().Trim();
                throw new ServiceStartException(name,
                    $"its supervisor exited with code {await launch.Exited.ConfigureAwait(false)} before the service was running{(said.Length > 0 ? $": {said}" : ".")}",
                    LogTail(name, 20));
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new ServiceStartException(name, $"it was not running after {bound.TotalSeconds:0} s (state {StatusJson.WireName(reported)}).", LogTail(name, 20));
            }

            await Task.WhenAny(launch.Exited, Task.Delay(_options.PollInterval, time, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Refuses when a supervisor holds the service's lock. A supervisor that was just killed may hold it a little
    /// longer than it shows as dead (its main thread is a zombie before the other threads have closed its files),
    /// so a held lock without a live supervisor is retried briefly.
    /// </summary>
    private async Task ProbeSupervisorLockAsync(string name, ProcessStatus? status, CancellationToken cancellationToken)
    {
        var deadline = _options.TimeProvider.GetUtcNow() + TimeSpan.FromSeconds(3);
        while (true)
        {
            using (var probe = FileLock.TryAcquire(SupervisorLockPath(State, name)))
            {
                if (probe is not null)
                {
                    return;
                }
            }

            if (_options.TimeProvider.GetUtcNow() > deadline)
            {
                throw new ServiceAlreadyRunningException(name, status?.SupervisorPid ?? 0);
            }

            await Task.Delay(_options.PollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Polls <c>status.json</c> until <paramref name="done"/> holds; returns the status that satisfied it.</summary>
    private async Task<ProcessStatus?> WaitForAsync(string name, Func<ProcessStatus?, bool> done, TimeSpan timeout, string timeoutMessage, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            var status = ReadStatus(name).Document;
            if (done(status))
            {
                return status;
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new ProcessCommunicationException(timeoutMessage) { Service = name, Path = State.ServiceStatusPath(name) };
            }

            await Task.Delay(_options.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Makes sure nothing of the service runs: a supervisor that is still alive is asked to stop and, when it does
    /// not within a few seconds, killed; then what it supervised is killed too. Never throws.
    /// </summary>
    private async Task EnsureGoneAsync(string name, int? launchedPid)
    {
        var status = ReadStatus(name).Document;
        var supervisor = LiveSupervisorIdentity(status)
            ?? (launchedPid is { } pid ? ProcessIdentity.Of(pid) : null);
        if (supervisor is { } sup && sup.IsAlive())
        {
            try
            {
                _store.Write(State.ServiceControlPath(name), ControlRequest.Create(ControlCommand.Stop, _options.TimeProvider, TimeSpan.Zero, force: true));
            }
            catch (ProcessCommunicationException)
            {
                // Killing it below is the fallback.
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (sup.IsAlive() && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
            }

            if (sup.IsAlive())
            {
                Native.Signal(sup.Pid, Native.SIGKILL);
            }
        }

        if (ReadStatus(name).Document is { } last)
        {
            EndOrphanedService(last);
        }
    }

    /// <summary>Kills a service process (and its tree) that outlived its supervisor, identified by pid and start time.</summary>
    private void EndOrphanedService(ProcessStatus status)
    {
        if (status.Host is { } host && host != Environment.MachineName)
        {
            return;
        }

        // The freezer cgroup, where there is one, holds every process of the service, escaped grandchildren included.
        if (ServiceCgroup.TryOpen(State.Root, status.Name, create: false) is { } cgroup && cgroup.Members() is { Count: > 0 } members)
        {
            cgroup.KillAll(TimeSpan.FromSeconds(5));
            AppendEvent(status.Name, "orphan_killed", EventSeverity.Warning,
                $"Killed {members.Count} process(es) of '{status.Name}' ({string.Join(", ", members)}), left running by a supervisor that is gone.");
            return;
        }

        if (status.Pid <= 0)
        {
            return;
        }

        var service = new ProcessIdentity(status.Pid, status.PidStartTicks);
        if (status.PidStartTicks != 0 && service.IsAlive())
        {
            ProcessTreeKiller.KillTree(status.Pid, status.Pid, 0, null, TimeSpan.FromSeconds(5));
            AppendEvent(status.Name, "orphan_killed", EventSeverity.Warning, $"Killed service process {status.Pid}, left running by a supervisor that is gone.");
        }
    }

    /// <summary>
    /// A <c>control.json</c> someone else owns was never obeyed (the supervisor refuses it) and must not keep the owner
    /// from steering: it is removed (unlink removes the name, never what a link points to), with an audit event.
    /// </summary>
    private void RemoveForeignControlFile(string name)
    {
        var path = State.ServiceControlPath(name);
        if (!FileStatus.TryLstat(path, out var found) || (SafeFile.IsTrustedOwner(found.Uid) && found.IsRegularFile))
        {
            return;
        }

        File.Delete(path);
        AppendEvent(name, "foreign_file_removed", EventSeverity.Warning,
            $"Removed '{path}' ({found.Describe()}{(found.IsSymbolicLink ? ", a symbolic link" : "")}): only you or root may write requests to '{name}'.",
            new Dictionary<string, string> { ["path"] = path, ["owner_uid"] = found.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>True when <paramref name="port"/> can be bound on the address the service's arguments name (<c>--bind</c>), else on any.</summary>
    private static bool PortIsFree(ServiceSpec spec, int port)
    {
        var bindIndex = spec.Arguments.ToList().IndexOf("--bind");
        var address = bindIndex >= 0 && bindIndex + 1 < spec.Arguments.Count && System.Net.IPAddress.TryParse(spec.Arguments[bindIndex + 1], out var parsed)
            ? parsed
            : System.Net.IPAddress.Any;
        try
        {
            var listener = new System.Net.Sockets.TcpListener(address, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
