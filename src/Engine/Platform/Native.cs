using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>The few libc calls .NET does not expose (Linux): sessions, subreaping, signals to groups, reaping by pid.</summary>
public static class Native
{
    /// <summary>SIGTERM.</summary>
    public const int SIGTERM = 15;

    /// <summary>SIGKILL.</summary>
    public const int SIGKILL = 9;

    /// <summary>SIGUSR1 (Linux): Slurm's warning ahead of a job's time limit.</summary>
    public const int SIGUSR1 = 10;

    /// <summary>SIGSTOP.</summary>
    public const int SIGSTOP = 19;

    /// <summary>SIGCONT.</summary>
    public const int SIGCONT = 18;

    private const int PR_SET_CHILD_SUBREAPER = 36;
    private const int WNOHANG = 1;

    /// <summary>Makes the calling process the leader of a new session and process group (detaches it from the caller's terminal and group).</summary>
    /// <returns>The new session id, or -1 (the process already leads a group).</returns>
    public static int CreateSession() => setsid();

    /// <summary>Makes the calling process a child subreaper: orphaned descendants are re-parented to it instead of to init.</summary>
    /// <returns>True on success.</returns>
    public static bool BecomeSubreaper() => prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;

    /// <summary>Sends <paramref name="signal"/> to the process group <paramref name="processGroup"/> (<c>kill(-pgid)</c>).</summary>
    /// <returns>True when at least one process got it; false when the group is empty.</returns>
    public static bool SignalGroup(int processGroup, int signal) => processGroup > 1 && kill(-processGroup, signal) == 0;

    /// <summary>Sends <paramref name="signal"/> to one process.</summary>
    /// <returns>True when the process got it; false when there is no such process (or no permission).</returns>
    public static bool Signal(int pid, int signal) => pid > 1 && kill(pid, signal) == 0;

    /// <summary>Reaps the exited child <paramref name="pid"/> without blocking (never <c>waitpid(-1)</c>: .NET reaps the children it started itself).</summary>
    /// <returns>True when the child was reaped.</returns>
    public static bool TryReap(int pid) => pid > 1 && waitpid(pid, out _, WNOHANG) == pid;

    /// <summary>The effective user id.</summary>
    public static int GetEffectiveUserId() => (int)geteuid();

    /// <summary>Points the standard descriptors 0, 1 and 2 at <c>/dev/null</c>, so a detached process holds no pipe or terminal of its caller.</summary>
    public static void DetachStandardStreams()
    {
        var fd = open("/dev/null", 2 /* O_RDWR */);
        if (fd < 0)
        {
            return;
        }

        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
        {
            close(fd);
        }
    }

    /// <summary>
    /// Closes every descriptor above 2 that the process inherited from its caller (those without close-on-exec:
    /// .NET opens all of its own with it), so a detached supervisor and its service never hold a pipe of whoever
    /// started them (a CI job waiting for EOF would wait forever). Linux only; call first thing in Main.
    /// </summary>
    /// <returns>How many were closed.</returns>
    public static int CloseInheritedDescriptors()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc/self/fd"))
        {
            return 0;
        }

        var closed = 0;
        foreach (var entry in Directory.GetFiles("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2 && fcntl(fd, 1 /* F_GETFD */, 0) is var flags and >= 0 && (flags & 1 /* FD_CLOEXEC */) == 0)
            {
                closed += close(fd) == 0 ? 1 : 0;
            }
        }

        return closed;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true)]
    private static extern int setsid();

    [DllImport("libc", SetLastError = true)]
    private static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    private static extern int waitpid(int pid, out int status, int options);

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int dup2(int oldfd, int newfd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
