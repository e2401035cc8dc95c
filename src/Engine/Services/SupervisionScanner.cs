using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// The scanner of a state directory (issue #22, s6-svscan's role): one small process, <c>stability-supervisor --scan</c>,
/// that watches every local supervisor of the directory and, when one dies while its service runs, launches the
/// replacement that takes the service back, within a second. It holds <c>scanner.lock</c> for its whole life, so
/// there is one per state directory; any command starts it when it is not running (<see cref="EnsureRunning"/>), and
/// its own death changes nothing for running services (they are not its children), until the next command brings it
/// back. It sleeps in one poll over the supervisors' pidfds and a watch on <c>scanner.poke</c>, which a start touches
/// so that a new supervisor is watched at once; nothing wakes it while nothing dies.
/// </summary>
public static class SupervisionScanner
{
    /// <summary>The option of the supervisor's executable that makes it the scanner.</summary>
    public const string Option = "--scan";

    /// <summary>The lock the scanner holds: <c>scanner.lock</c> in the state directory's root.</summary>
    public static string LockPath(StateDirectory state) => Path.Combine((state ?? throw new ArgumentNullException(nameof(state))).Root, "scanner.lock");

    /// <summary>The file a start touches so that the scanner watches its new supervisor at once.</summary>
    public static string PokePath(StateDirectory state) => Path.Combine((state ?? throw new ArgumentNullException(nameof(state))).Root, "scanner.poke");

    /// <summary>True when a scanner holds the state directory's lock now.</summary>
    public static bool IsRunning(StateDirectory state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!File.Exists(LockPath(state)))
        {
            return false;
        }

        using var probe = FileLock.TryAcquire(LockPath(state));
        return probe is null;
    }

    /// <summary>
    /// Starts the scanner of <paramref name="state"/> when none runs (Linux, and only for a state directory that exists),
    /// and tells a running one to look again. Never throws: healing by the next command remains when it cannot start.
    /// </summary>
    /// <param name="state">The state directory.</param>
    /// <param name="supervisorPath">The supervisor's executable (default: <see cref="HostLocator.Find"/>).</param>
    /// <returns>True when a scanner runs (or was started).</returns>
    public static bool EnsureRunning(StateDirectory state, string? supervisorPath = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!OperatingSystem.IsLinux() || !state.Exists)
        {
            return false;
        }

        try
        {
            if (!HasLiveLocalService(state))
            {
                // Nothing to watch: no scanner (one that runs ends by itself once nothing is left).
                return false;
            }

            Poke(state);
            if (IsRunning(state))
            {
                return true;
            }

            var (program, leading) = HostLocator.CommandFor(supervisorPath ?? HostLocator.Find("supervisor"));
            var info = new ProcessStartInfo(program) { UseShellExecute = false, WorkingDirectory = state.Root };
            foreach (var argument in leading)
            {
                info.ArgumentList.Add(argument);
            }

            info.ArgumentList.Add(Option);
            info.ArgumentList.Add("--state-dir");
            info.ArgumentList.Add(state.Root);
            // It detaches itself (new session, standard streams on /dev/null) at once; nobody waits for it.
            using var process = Process.Start(info);
            return process is not null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException or StabilityException)
        {
            return false;
        }
    }

    /// <summary>
    /// The live supervisors of the state directory's local services (a non-final status of this host whose supervisor,
    /// by pid and start time, is alive), and whether some local service runs on without one (a death to heal).
    /// </summary>
    public static (IReadOnlyList<Platform.ProcessIdentity> Supervisors, bool Unsupervised) LocalSupervisors(StateDirectory state, StatusStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        store ??= new StatusStore();
        var supervisors = new List<Platform.ProcessIdentity>();
        var unsupervised = false;
        foreach (var name in state.ListServices())
        {
            if (store.Read<Models.ProcessStatus>(state.ServiceStatusPath(name)).Document is not { } status || Liveness.IsFinal(status.Status)
                || (status.Host is { } host && host != Environment.MachineName) || status.SupervisorPid <= 0)
            {
                continue;
            }

            var supervisor = new Platform.ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks);
            if (supervisor.IsAlive() && !Platform.ExitWatch.IsZombie(supervisor.Pid))
            {
                supervisors.Add(supervisor);
            }
            else if (status.Pid > 0 && new Platform.ProcessIdentity(status.Pid, status.PidStartTicks).IsAlive())
            {
                unsupervised = true;
            }
        }

        return (supervisors, unsupervised);
    }

    private static bool HasLiveLocalService(StateDirectory state) => LocalSupervisors(state) is { } found && (found.Supervisors.Count > 0 || found.Unsupervised);

    /// <summary>Touches <c>scanner.poke</c> (owner-only, never through a link).</summary>
    public static void Poke(StateDirectory state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var stream = Platform.SafeFile.Open(PokePath(state), Platform.SafeFileMode.Append, FileAccess.Write);
        stream.Write("."u8);
        stream.SetLength(0);
    }
}
