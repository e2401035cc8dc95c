using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Status;

/// <summary>Replaces a file's content atomically: write a temporary sibling, flush, rename over.</summary>
public static class AtomicFile
{
    /// <summary>The temporary file this process writes before renaming over <paramref name="path"/>.</summary>
    public static string TempPathFor(string path) => $"{path}.tmp-{Environment.ProcessId}";

    /// <summary>
    /// Writes <paramref name="bytes"/> to <c>&lt;path&gt;.tmp-&lt;pid&gt;</c>, optionally fsyncs it, and renames it
    /// over <paramref name="path"/>. The caller holds the file's lock. On failure the temporary file is removed
    /// and <paramref name="path"/> is untouched.
    /// </summary>
    /// <exception cref="StatusWriteException">The write or rename failed.</exception>
    public static void Replace(string path, ReadOnlySpan<byte> bytes, bool fsync)
    {
        var temp = TempPathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FilePermissions.CreateOptions(FileMode.Create, FileAccess.Write, FileShare.Read)))
            {
                stream.Write(bytes);
                if (fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StatusWriteException(path, IoErrors.IsDiskFull(ex), ex);
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
