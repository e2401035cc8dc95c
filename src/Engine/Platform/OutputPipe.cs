using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// The named pipes (FIFOs) a service writes its standard output and error into (issue #22), in
/// <c>services/&lt;name&gt;/pipes/&lt;id&gt;.out</c> and <c>.err</c>, owner-only. The service opens its ends read-write
/// (<c>exec 1&lt;&gt;FIFO</c>), so there is always a reader while it lives: a supervisor that dies never makes the
/// service's next write fail with EPIPE or SIGPIPE, and what it writes meanwhile waits in the pipe (enlarged to
/// <see cref="Capacity"/>) until the replacement supervisor opens the same FIFO and reads on from there. Nothing is
/// lost, nothing answered with an error; a service that writes more than the pipe holds before it is read again waits.
/// </summary>
public static class OutputPipe
{
    /// <summary>What a pipe holds before its writer waits: 1 MiB (Linux's default <c>/proc/sys/fs/pipe-max-size</c>).</summary>
    public const int Capacity = 1024 * 1024;

    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_NOFOLLOW = 0x20000;
    private const int F_SETPIPE_SZ = 1031;
    private const int EEXIST = 17;

    /// <summary>The folder of a service's pipes.</summary>
    public static string DirectoryOf(string serviceDirectory) => Path.Combine(serviceDirectory, "pipes");

    /// <summary>The two FIFOs of pipe <paramref name="id"/>: standard output, standard error.</summary>
    public static (string Out, string Err) PathsOf(string serviceDirectory, string id) =>
        (Path.Combine(DirectoryOf(serviceDirectory), id + ".out"), Path.Combine(DirectoryOf(serviceDirectory), id + ".err"));

    /// <summary>True when both FIFOs of <paramref name="id"/> exist (as FIFOs, not links).</summary>
    public static bool Exists(string serviceDirectory, string id)
    {
        var (output, error) = PathsOf(serviceDirectory, id);
        return IsFifo(output) && IsFifo(error);
    }

    /// <summary>Makes a new pair of FIFOs (mode 0600) under a fresh id and returns the id; the folder is made owner-only.</summary>
    /// <exception cref="IOException">A FIFO could not be made.</exception>
    public static string Create(string serviceDirectory)
    {
        var folder = DirectoryOf(serviceDirectory);
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var id = $"{Environment.ProcessId}-{DateTime.UtcNow.Ticks:x}-{Random.Shared.Next():x}";
        var (output, error) = PathsOf(serviceDirectory, id);
        foreach (var path in new[] { output, error })
        {
            if (mkfifo(path, 0b110_000_000) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"Could not make the output pipe '{path}' (errno {errno}{(errno == EEXIST ? ": it exists" : "")}).");
            }
        }

        return id;
    }

    /// <summary>
    /// Opens the read end of a FIFO without blocking on its open and without following a link, enlarges the pipe to
    /// <see cref="Capacity"/> where the kernel allows, and returns it as a stream whose reads wait for data (see
    /// <see cref="FifoReader"/>: the end of the stream is the end of its writers, not a moment before the first one came).
    /// </summary>
    /// <exception cref="UnsafeFileException">Something other than a FIFO is at <paramref name="path"/> (a link, a file).</exception>
    /// <exception cref="IOException">It could not be opened.</exception>
    public static Stream OpenReader(string path)
    {
        if (!IsFifo(path))
        {
            throw new UnsafeFileException(path, "it is not the named pipe the supervisor made; the product never reads output through anything else");
        }

        var fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0);
        if (fd < 0)
        {
            throw new IOException($"Could not open the output pipe '{path}' (errno {Marshal.GetLastPInvokeError()}).");
        }

        // Best effort: an unprivileged process may not go beyond pipe-max-size; the default 64 KiB still loses nothing.
        fcntl(fd, F_SETPIPE_SZ, Capacity);
        return new FifoReader(new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>
    /// Reads a FIFO opened non-blocking, waiting in poll(2). A FIFO read before any writer opened it reads as its end
    /// (read returns 0), and a FIFO a reader opened while the writer was already there never reports the writer's
    /// hang-up; so the end is the first 0 after a writer was seen (data, EAGAIN, or a hang-up), and poll wakes every
    /// <see cref="Recheck"/> to look for it.
    /// </summary>
    private sealed class FifoReader(SafeFileHandle handle) : Stream
    {
        private static readonly int Recheck = 5000;
        private const short POLLIN = 1, POLLERR = 8, POLLHUP = 16;
        private const int EAGAIN = 11, EINTR = 4;
        private bool _sawWriter;

        public override bool CanRead => !handle.IsClosed;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override unsafe int Read(Span<byte> buffer)
        {
            var fd = (int)handle.DangerousGetHandle();
            while (!handle.IsClosed)
            {
                var poll = new PollFd { Fd = fd, Events = POLLIN };
                var ready = Poll(ref poll, 1, Recheck);
                var hangUp = ready > 0 && (poll.Revents & (POLLHUP | POLLERR)) != 0;
                if (ready < 0 && Marshal.GetLastPInvokeError() != EINTR)
                {
                    throw new IOException($"poll on an output pipe failed (errno {Marshal.GetLastPInvokeError()}).");
                }

                long n;
                fixed (byte* data = buffer)
                {
                    n = ReadFd(fd, data, (nuint)buffer.Length);
                }

                if (n > 0)
                {
                    _sawWriter = true;
                    return (int)n;
                }

                if (n == 0 && (_sawWriter || hangUp))
                {
                    return 0;
                }

                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EAGAIN)
                    {
                        _sawWriter = true;
                    }
                    else if (errno != EINTR)
                    {
                        throw new IOException($"read from an output pipe failed (errno {errno}).");
                    }
                }
            }

            return 0;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                handle.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, ulong count, int timeout);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern unsafe long ReadFd(int fd, byte* buffer, nuint count);

    /// <summary>Removes the FIFOs of every pipe in the folder but <paramref name="keep"/> (pipes of runs that ended); never throws.</summary>
    public static void RemoveAllBut(string serviceDirectory, string? keep)
    {
        try
        {
            foreach (var path in Directory.EnumerateFiles(DirectoryOf(serviceDirectory)))
            {
                if (keep is null || Path.GetFileNameWithoutExtension(path) != keep)
                {
                    File.Delete(path);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Leftover FIFOs cost an inode each; the next run's clean-up tries again.
        }
    }

    /// <summary>Removes the FIFOs of <paramref name="id"/>; never throws.</summary>
    public static void Remove(string serviceDirectory, string id)
    {
        var (output, error) = PathsOf(serviceDirectory, id);
        foreach (var path in new[] { output, error })
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Removed with the rest at the next run's start.
            }
        }
    }

    private static bool IsFifo(string path) => FileStatus.TryLstat(path, out var status) && (status.Mode & 0xF000) == 0x1000;

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPStr)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);
}
