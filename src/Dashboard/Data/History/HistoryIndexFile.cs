// Overview: a run's history index saved beside its log (runs/<run_id>/metrics.index), so a dashboard that starts again, or
// that dropped the run from its cache, answers the run's first history read from the index and the lines appended since,
// instead of reading the whole log again. The index is derived data that only the dashboard writes: whatever is wrong with
// it (torn, truncated, bit-flipped, from another version, planted, or of a log that was rewritten or rotated since) makes
// it rejected and rebuilt from the log, never believed. So a load checks, in order: the file is a regular file of ours
// (no link), its SHA-256 trailer, its format version and bucket capacity, that the log still holds exactly the bytes the
// index was built from (its length, and SHA-256 of its first and its last 4 KiB before the indexed offset: the log is
// append-only, so that is what can change), the rotated files' lengths, and every invariant of the buckets themselves.
using System.Security.Cryptography;
using System.Text;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>The saved form of a <see cref="RunHistory"/> (format <see cref="FormatVersion"/>, little-endian binary, a SHA-256 trailer).</summary>
internal static class HistoryIndexFile
{
    /// <summary>The format written; an index of any other is rebuilt (a cache is never migrated: rebuilding it is the migration).</summary>
    public const int FormatVersion = 1;

    /// <summary>The largest index read: the worst run (32 metrics of both kinds, 1,024 buckets each) takes about 4 MB.</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    /// <summary>Bytes of the log hashed at its start and before the indexed offset.</summary>
    internal const int SpanBytes = 4096;

    /// <summary>The log's first bytes a loaded index hands back (<see cref="Contents.LogStart"/>), to notice a rotation later.</summary>
    internal const int StartBytes = 64;

    private static ReadOnlySpan<byte> Magic => "STHIDX"u8;

    /// <summary>Writes <paramref name="contents"/> to <paramref name="indexPath"/> (owner-only, never through a link, atomically).</summary>
    /// <param name="indexPath">The index file.</param>
    /// <param name="metricsPath">The log it indexes; its first and last bytes up to the offset are hashed into the index.</param>
    /// <param name="retainedFiles">Rotated files read before the log (their lengths are recorded).</param>
    /// <param name="signature">The log's first bytes as the index read them: when the log no longer starts with them it was rotated meanwhile, and nothing is written.</param>
    /// <param name="contents">What to save.</param>
    /// <returns>False when the log changed under the save (nothing written).</returns>
    /// <exception cref="StatusWriteException">The write failed (disk full, permissions).</exception>
    /// <exception cref="UnsafeFileException">Something other than a regular file of ours stands at <paramref name="indexPath"/>.</exception>
    /// <exception cref="IOException">The log could not be read.</exception>
    public static bool Save(string indexPath, string metricsPath, int retainedFiles, ReadOnlySpan<byte> signature, Contents contents)
    {
        if (LogSpans(metricsPath, contents.Offset, signature) is not { } spans)
        {
            return false;
        }

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(BucketedSeries.Capacity);
            writer.Write(MetricNames.MaxNames);
            writer.Write(contents.Offset);
            writer.Write(spans.Head);
            writer.Write(spans.Tail);
            writer.Write(retainedFiles);
            for (var i = 1; i <= retainedFiles; i++)
            {
                writer.Write(LengthOf(LogRotation.RotatedPath(metricsPath, i)));
            }

            writer.Write(contents.FirstTicks);
            writer.Write(contents.SkippedLines);
            writer.Write(contents.Names.Ignored);
            writer.Write(contents.Names.All.Count);
            foreach (var name in contents.Names.All)
            {
                writer.Write(name);
            }

            contents.Epochs.Save(writer);
            contents.Steps.Save(writer);
        }

        var body = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var bytes = new byte[body.Length + SHA256.HashSizeInBytes];
        body.CopyTo(bytes);
        SHA256.HashData(body, bytes.AsSpan(body.Length));
        // No lock: every writer writes a whole index of the same log to a temporary of its own and renames it over, so two
        // dashboards racing leave one whole index. No fsync: a torn index after a power cut fails its checksum and is rebuilt.
        AtomicFile.Replace(indexPath, bytes, fsync: false);
        return true;
    }

    /// <summary>
    /// The index at <paramref name="indexPath"/> when it is whole, of this format, and of the log as it is now; otherwise
    /// null, with why in <paramref name="rejected"/> (null when there is simply no index).
    /// </summary>
    public static Contents? TryLoad(string indexPath, string metricsPath, int retainedFiles, out string? rejected)
    {
        byte[] bytes;
        try
        {
            using var stream = SafeFile.OpenRead(indexPath);
            // The rule SafeFile applies to what it writes: ours, root's, or the user's whose run folder it is (-RunAsUser), who
            // could as well rewrite the log itself.
            var owner = SafeFile.OwnerOf(stream);
            if (!OperatingSystem.IsWindows() && !SafeFile.IsTrustedOwner(owner) && !SafeFile.IsInFolderHandedTo(Path.GetFullPath(indexPath), owner))
            {
                rejected = $"it is owned by uid {owner}, not by you, root or the run's user";
                return null;
            }

            if (stream.Length is < 0 or > MaxBytes)
            {
                rejected = $"it is larger than {MaxBytes} bytes";
                return null;
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            rejected = null;
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A link (UnsafeFileException), a file that changed while read, a permission problem: not an index to trust.
            rejected = ex.Message;
            return null;
        }

        if (bytes.Length < SHA256.HashSizeInBytes
            || !SHA256.HashData(bytes.AsSpan(0, bytes.Length - SHA256.HashSizeInBytes)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - SHA256.HashSizeInBytes)))
        {
            rejected = "its checksum does not match (torn or damaged)";
            return null;
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - SHA256.HashSizeInBytes), Encoding.UTF8);
            var contents = Read(reader, metricsPath, retainedFiles, out rejected);
            if (contents is not null && reader.BaseStream.Position != reader.BaseStream.Length)
            {
                (contents, rejected) = (null, "it has bytes after its end");
            }

            return contents;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException or DecoderFallbackException or ArgumentException)
        {
            rejected = $"it cannot be read ({ex.Message})";
            return null;
        }
    }

    private static Contents? Read(BinaryReader reader, string metricsPath, int retainedFiles, out string? rejected)
    {
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
        {
            rejected = "it is not a history index";
            return null;
        }

        if ((reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32()) != (FormatVersion, BucketedSeries.Capacity, MetricNames.MaxNames))
        {
            rejected = "it was written by another version";
            return null;
        }

        var offset = reader.ReadInt64();
        var head = reader.ReadBytes(SHA256.HashSizeInBytes);
        var tail = reader.ReadBytes(SHA256.HashSizeInBytes);
        var spans = offset > 0 ? LogSpans(metricsPath, offset, []) : null;
        if (spans is null || !spans.Value.Head.AsSpan().SequenceEqual(head) || !spans.Value.Tail.AsSpan().SequenceEqual(tail))
        {
            rejected = "the log is no longer what it indexed (rewritten, truncated or rotated)";
            return null;
        }

        if (reader.ReadInt32() != retainedFiles)
        {
            rejected = "it was written for another number of rotated files";
            return null;
        }

        for (var i = 1; i <= retainedFiles; i++)
        {
            var length = LengthOf(LogRotation.RotatedPath(metricsPath, i));
            if (reader.ReadInt64() != length || length == Unreadable)
            {
                rejected = $"the rotated log {LogRotation.RotatedPath(metricsPath, i)} changed";
                return null;
            }
        }

        var firstTicks = reader.ReadInt64();
        var skipped = reader.ReadInt64();
        var ignored = reader.ReadInt64();
        var count = reader.ReadInt32();
        if (count is < 0 or > MetricNames.MaxNames || skipped < 0)
        {
            rejected = "its counts are out of range";
            return null;
        }

        var names = MetricNames.Restore(Enumerable.Range(0, count).Select(_ => reader.ReadString()).ToList(), ignored);
        var epochs = names is null ? null : BucketedSeries.Load(reader, names);
        var steps = epochs is null ? null : BucketedSeries.Load(reader, names!);
        if (steps is null)
        {
            rejected = "its buckets do not add up";
            return null;
        }

        rejected = null;
        return new Contents(offset, firstTicks, skipped, names!, epochs!, steps) { LogStart = spans.Value.Start };
    }

    /// <summary>
    /// SHA-256 of the log's first and last <see cref="SpanBytes"/> before <paramref name="offset"/>; null when the log is shorter
    /// than that, cannot be read, or does not start with <paramref name="signature"/> (when one is given).
    /// </summary>
    private static (byte[] Head, byte[] Tail, byte[] Start)? LogSpans(string metricsPath, long offset, ReadOnlySpan<byte> signature)
    {
        try
        {
            using var log = SafeFile.OpenRead(metricsPath);
            if (log.Length < offset)
            {
                return null;
            }

            var span = (int)Math.Min(offset, SpanBytes);
            var head = new byte[span];
            log.ReadExactly(head);
            if (!head.AsSpan().StartsWith(signature[..Math.Min(signature.Length, span)]))
            {
                return null;
            }

            var tail = new byte[span];
            log.Position = offset - span;
            log.ReadExactly(tail);
            return (SHA256.HashData(head), SHA256.HashData(tail), head[..Math.Min(span, StartBytes)]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A length no file has: an index written while a rotated file could not be looked at is never taken as up to date.
    private const long Unreadable = -2;

    private static long LengthOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : -1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Unreadable;
        }
    }

    /// <summary>A run's index state and the log offset it reaches.</summary>
    internal sealed record Contents(long Offset, long FirstTicks, long SkippedLines, MetricNames Names, BucketedSeries Epochs, BucketedSeries Steps)
    {
        /// <summary>Of a loaded index: the log's first <see cref="StartBytes"/> bytes, read with the checks (so from the same file).</summary>
        public byte[] LogStart { get; init; } = [];
    }
}
