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

    private static int OpenPidfd(int pid)
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

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
