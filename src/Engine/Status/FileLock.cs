using System.Diagnostics;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Status;

/// <summary>
/// An exclusive OS lock on a <c>&lt;file&gt;.lock</c> file, held while this object lives.
/// </summary>
/// <remarks>
/// On Unix the lock is <c>flock(LOCK_EX|LOCK_NB)</c> on the lock file (opened by <see cref="SafeFile"/>: never
/// through a link, only a file of ours), the same lock a Python writer takes with <c>fcntl.flock(fd, LOCK_EX)</c>. The kernel drops it
/// when the holder dies, so a killed writer can never leave it held. The lock file itself is never deleted:
/// deleting it would let two processes lock two different inodes of the same name.
/// </remarks>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _stream;

    private FileLock(FileStream stream, string path)
    {
        _stream = stream;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock, retrying with a short backoff until <paramref name="timeout"/>.</summary>
    /// <exception cref="LockTimeoutException">Another process held the lock for the whole wait.</exception>
    /// <exception cref="StatusWriteException">The lock file could not be created (disk full, no permission).</exception>
    public static FileLock Acquire(string lockPath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var attempt = 0;
        while (true)
        {
            try
            {
                var stream = SafeFile.Open(lockPath, SafeFileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new FileLock(stream, lockPath);
            }
            catch (IOException ex) when (IoErrors.IsSharingViolation(ex))
            {
                if (clock.Elapsed >= timeout)
                {
                    throw new LockTimeoutException(lockPath, clock.Elapsed);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StatusWriteException(lockPath, IoErrors.IsDiskFull(ex), ex);
            }

            cancellationToken.ThrowIfCancellationRequested();
            Backoff(attempt++);
        }
    }

    /// <summary>Tries once to take the lock; null when another process holds it.</summary>
    public static FileLock? TryAcquire(string lockPath)
    {
        try
        {
            var stream = SafeFile.Open(lockPath, SafeFileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new FileLock(stream, lockPath);
        }
        catch (IOException ex) when (IoErrors.IsSharingViolation(ex))
        {
            return null;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();

    // Held locks last one write (well under a millisecond without fsync, a few with it): spin briefly,
    // then sleep in growing steps capped at 5 ms so a waiter neither burns a core nor lags far behind.
    private static void Backoff(int attempt)
    {
        if (attempt < 10)
        {
            Thread.SpinWait(64 << attempt);
        }
        else if (attempt < 20)
        {
            Thread.Sleep(0);
        }
        else
        {
            Thread.Sleep(Math.Min(5, 1 + ((attempt - 20) / 10)));
        }
    }
}
