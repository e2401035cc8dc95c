using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// Waits for a process that is not the caller's child to end (issue #22: a replacement supervisor takes back a service
/// its dead predecessor started, and only a parent can <c>wait</c> for a child). Through a pidfd (Linux ≥ 5.3), which
/// becomes readable the moment the process exits and, unlike a pid, can never name a newer process that took the
/// number; elsewhere by polling <c>/proc</c> for the pid and its start time every 100 ms.
/// </summary>
public static class ExitWatch
{
    private const long SysPidfdOpen = 434;
    private const short POLLIN = 1;
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Completes when <paramref name="process"/> has exited (at once when it is gone already). The pidfd is opened
    /// before the identity is checked again, so an exit in between is never missed and a reused pid never waited on.
    /// </summary>
    /// <returns>"pidfd" or "poll": how the exit was watched.</returns>
    public static async Task<string> WaitAsync(ProcessIdentity process, CancellationToken cancellationToken)
    {
        var fd = OperatingSystem.IsLinux() ? OpenPidfd(process.Pid) : -1;
        if (fd >= 0)
        {
            try
            {
                if (!process.IsAlive())
                {
                    return "pidfd";
                }

                // One blocked pool thread per adopted service; woken every second only to notice a cancellation.
                await Task.Run(() =>
                {
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        var poll = new PollFd { Fd = fd, Events = POLLIN };
                        if (Poll(ref poll, 1, 1000) > 0)
                        {
                            return;
                        }
                    }
                }, CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                return "pidfd";
            }
            finally
            {
                close(fd);
            }
        }

        while (process.IsAlive() && !IsZombie(process.Pid))
        {
            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
        }

        return "poll";
    }

    /// <summary>True when the process has exited and waits to be reaped by its parent (state Z in <c>/proc/PID/stat</c>).</summary>
    public static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits until one of <paramref name="pidfds"/> says its process exited, <paramref name="wakeFd"/> is readable, or
    /// <paramref name="timeout"/> passed: one poll(2), no thread per process. Returns the number of ready descriptors.
    /// </summary>
    public static int WaitAny(IReadOnlyList<int> pidfds, int wakeFd, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(pidfds);
        var set = new PollFd[pidfds.Count + (wakeFd >= 0 ? 1 : 0)];
        for (var i = 0; i < pidfds.Count; i++)
        {
            set[i] = new PollFd { Fd = pidfds[i], Events = POLLIN };
        }

        if (wakeFd >= 0)
        {
            set[^1] = new PollFd { Fd = wakeFd, Events = POLLIN };
        }

        return PollMany(set, (ulong)set.Length, (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds));
    }

    /// <summary>A pidfd of <paramref name="pid"/> (Linux ≥ 5.3), or -1 where there is none; close it with <see cref="Close"/>.</summary>
    public static int OpenPidfd(int pid)
    {
        try
        {
            return (int)syscall(SysPidfdOpen, pid, 0);
        }
        catch (EntryPointNotFoundException)
        {
            return -1;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern long syscall(long number, int pid, uint flags);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, ulong count, int timeout);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int PollMany([In, Out] PollFd[] fds, ulong count, int timeout);

    /// <summary>Closes a descriptor this class opened.</summary>
    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}

/// <summary>A descriptor that another thread makes readable (an eventfd), to wake a poll(2): the scanner's poke.</summary>
public sealed class WakeSignal : IDisposable
{
    private const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;

    /// <summary>Creates the eventfd (-1 where there is none: the waits then end only by their timeouts).</summary>
    public WakeSignal() => Descriptor = OperatingSystem.IsLinux() ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;

    /// <summary>The descriptor to poll for reading.</summary>
    public int Descriptor { get; }

    /// <summary>Makes it readable (from any thread).</summary>
    public unsafe void Set()
    {
        if (Descriptor >= 0)
        {
            ulong one = 1;
            _ = write(Descriptor, &one, 8);
        }
    }

    /// <summary>Makes it unreadable again.</summary>
    public unsafe void Clear()
    {
        if (Descriptor >= 0)
        {
            ulong value;
            _ = read(Descriptor, &value, 8);
        }
    }

    /// <inheritdoc />
    public void Dispose() => ExitWatch.Close(Descriptor);

    [DllImport("libc", SetLastError = true)]
    private static extern int eventfd(uint initval, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern unsafe nint write(int fd, void* buffer, nuint count);

    [DllImport("libc", SetLastError = true)]
    private static extern unsafe nint read(int fd, void* buffer, nuint count);
}
