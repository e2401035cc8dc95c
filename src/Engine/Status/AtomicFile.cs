using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Status;

/// <summary>Replaces a file's content atomically: write a temporary sibling, flush, rename over.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to a new <c>&lt;path&gt;.tmp-&lt;pid&gt;-&lt;random&gt;</c> (created exclusively,
    /// owner-only, never through a link: a name no one could plant ahead), optionally fsyncs it, and renames it over
    /// <paramref name="path"/>. The caller holds the file's lock. On failure the temporary file is removed and
    /// <paramref name="path"/> is untouched.
    /// </summary>
    /// <exception cref="StatusWriteException">The write or rename failed, or something unsafe stood in the way.</exception>
    public static void Replace(string path, ReadOnlySpan<byte> bytes, bool fsync)
    {
        var temp = SafeFile.TemporaryName(path);
        try
        {
            using (var stream = SafeFile.Open(temp, SafeFileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                if (fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            RefuseForeignTarget(path);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StatusWriteException(path, IoErrors.IsDiskFull(ex), ex);
        }
    }

    /// <summary>
    /// As <see cref="Replace(string, ReadOnlySpan{byte}, bool)"/>, with the content written by <paramref name="write"/>
    /// into the temporary file (buffered) rather than held in memory whole: for a rewrite of a file as large as a
    /// compacted history, which a supervisor should not have to hold on its heap.
    /// </summary>
    /// <exception cref="StatusWriteException">The write or rename failed, or something unsafe stood in the way.</exception>
    public static void Replace(string path, Action<Stream> write, bool fsync)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = SafeFile.TemporaryName(path);
        try
        {
            using (var stream = SafeFile.Open(temp, SafeFileMode.CreateNew, FileAccess.Write))
            {
                // Flushed, not disposed: disposing it would close the file before the fsync.
                var buffered = new BufferedStream(stream, 16 * 1024);
                write(buffered);
                buffered.Flush();

                if (fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            RefuseForeignTarget(path);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StatusWriteException(path, IoErrors.IsDiskFull(ex), ex);
        }
        catch
        {
            // Whatever else stopped the writer, the half-written temporary file is not left behind.
            TryDelete(temp);
            throw;
        }
    }

    // rename(2) replaces a link rather than following it, but a document someone else put at the name means
    // someone else can write this folder: refuse rather than quietly replace what they planted.
    private static void RefuseForeignTarget(string path)
    {
        if (FileStatus.TryLstat(path, out var status) && (!SafeFile.IsTrustedOwner(status.Uid) || !(status.IsRegularFile || status.IsSymbolicLink)))
        {
            throw new UnsafeFileException(path, $"the file there has {status.Describe()}, not a regular file of yours");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temp file is harmless (it is never read) and is overwritten by this pid's next write.
        }
    }
}
