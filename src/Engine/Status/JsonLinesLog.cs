using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Status;

/// <summary>
/// An append-only JSON-lines log (<c>metrics.jsonl</c>, <c>events.jsonl</c>): one JSON object a line.
/// </summary>
/// <remarks>
/// Each record is one <c>write</c> under the file's lock, so records of concurrent writers never interleave.
/// A killed writer can leave at most one partial last line, which readers skip. When the file would grow past
/// <see cref="JsonLinesOptions.MaxFileBytes"/> it is renamed to <c>.1</c> (older ones shift up and the oldest is
/// dropped), so the log stays within <c>(RetainedFiles + 1) × MaxFileBytes</c>.
/// </remarks>
/// <typeparam name="T">The record type, serialized with <see cref="StatusJson.Options"/>.</typeparam>
public sealed class JsonLinesLog<T>
    where T : class
{
    private readonly JsonLinesOptions _options;

    /// <summary>Creates a log at <paramref name="path"/>; the file is created on first append.</summary>
    public JsonLinesLog(string path, JsonLinesOptions? options = null)
    {
        Path = path;
        _options = (options ?? JsonLinesOptions.Default).Validate();
    }

    /// <summary>The current file.</summary>
    public string Path { get; }

    /// <summary>The options in force.</summary>
    public JsonLinesOptions Options => _options;

    /// <summary>Appends one record as one line, rotating first when the file is full.</summary>
    /// <exception cref="LockTimeoutException">The lock was held for the whole bounded wait.</exception>
    /// <exception cref="StatusWriteException">The append failed (disk full, no permission); earlier records are intact.</exception>
    public void Append(T record, CancellationToken cancellationToken = default) => AppendRange([record], cancellationToken);

    /// <summary>Appends records, each as one line, in one write under one lock.</summary>
    /// <exception cref="LockTimeoutException">The lock was held for the whole bounded wait.</exception>
    /// <exception cref="StatusWriteException">The append failed (disk full, no permission); earlier records are intact.</exception>
    public void AppendRange(IReadOnlyCollection<T> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        var buffer = new MemoryStream();
        var typeInfo = StatusJson.TypeInfo<T>();
        foreach (var record in records)
        {
            JsonSerializer.Serialize(buffer, record, typeInfo);
            buffer.WriteByte((byte)'\n');
        }

        using var held = FileLock.Acquire(StatusStore.LockPathFor(Path), _options.LockTimeout, cancellationToken);
        try
        {
            RotateIfFull(buffer.Length);
            using var stream = SafeFile.Open(Path, SafeFileMode.Append, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var start = stream.Position;
            try
            {
                if (start > 0 && !JsonLinesFile.EndsWithNewline(stream, start))
                {
                    // A writer died mid-line: end that line so this record is not glued onto it.
                    stream.WriteByte((byte)'\n');
                }

                stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
                if (_options.Fsync)
                {
                    stream.Flush(flushToDisk: true);
                }
            }
            catch (IOException)
            {
                // A short write (disk full) would leave a partial line; cut it off so the next record starts clean.
                JsonLinesFile.TryTruncate(stream, start);
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StatusWriteException(Path, IoErrors.IsDiskFull(ex), ex);
        }
    }

    /// <summary>Reads every record of the retained files and the current one, oldest first.</summary>
    public JsonLinesReadResult<T> ReadAll()
    {
        var records = new List<T>();
        var skipped = 0;
        for (var i = _options.RetainedFiles; i >= 1; i--)
        {
            skipped += ReadFile(RotatedPath(i), 0, records, out _, out _);
        }

        skipped += ReadFile(Path, 0, records, out var incomplete, out var end);
        return new JsonLinesReadResult<T>(records, skipped, incomplete, end);
    }

    /// <summary>
    /// Reads the records of the current file from <paramref name="offset"/> on (an earlier result's
    /// <see cref="JsonLinesReadResult{T}.EndOffset"/>). When the file was rotated since (it is now shorter
    /// than the offset), reads it from the start.
    /// </summary>
    public JsonLinesReadResult<T> ReadFrom(long offset)
    {
        var records = new List<T>();
        var skipped = ReadFile(Path, offset, records, out var incomplete, out var end);
        return new JsonLinesReadResult<T>(records, skipped, incomplete, end);
    }

    /// <summary>The path of the <paramref name="index"/>-th rotated file (1 is the newest).</summary>
    public string RotatedPath(int index) => LogRotation.RotatedPath(Path, index);

    /// <summary>Every file of this log that exists now, oldest first.</summary>
    public IReadOnlyList<string> ExistingFiles()
    {
        var files = new List<string>();
        for (var i = _options.RetainedFiles; i >= 1; i--)
        {
            if (File.Exists(RotatedPath(i)))
            {
                files.Add(RotatedPath(i));
            }
        }

        if (File.Exists(Path))
        {
            files.Add(Path);
        }

        return files;
    }

    private void RotateIfFull(long incoming)
    {
        long length;
        try
        {
            length = new FileInfo(Path).Length;
        }
        catch (FileNotFoundException)
        {
            return;
        }

        if (length == 0 || length + incoming <= _options.MaxFileBytes)
        {
            return;
        }

        LogRotation.Shift(Path, _options.RetainedFiles);
    }

    private int ReadFile(string path, long offset, List<T> records, out bool incompleteTail, out long endOffset)
    {
        incompleteTail = false;
        endOffset = 0;
        byte[] content;
        try
        {
            using var stream = SafeFile.OpenRead(path);
            if (offset > stream.Length)
            {
                offset = 0;
            }

            stream.Position = offset;
            content = new byte[stream.Length - offset];
            stream.ReadExactly(content);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
        catch (EndOfStreamException)
        {
            // Truncated under us (a rotation by size 0 or a repair): treat as nothing new.
            endOffset = offset;
            return 0;
        }

        var skipped = 0;
        var span = content.AsSpan();
        var consumed = 0;
        while (consumed < span.Length)
        {
            var newline = span[consumed..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                // A partial last line: a write in progress or a writer killed mid-write. Not ours to read yet.
                incompleteTail = true;
                break;
            }

            var line = span.Slice(consumed, newline);
            consumed += newline + 1;
            if (line.IsEmpty || (line.Length == 1 && line[0] == (byte)'\r'))
            {
                continue;
            }

            if (line.Length > _options.MaxRecordBytes)
            {
                skipped++;
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, StatusJson.TypeInfo<T>()) is { } record)
                {
                    records.Add(record);
                }
                else
                {
                    skipped++;
                }
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
            {
                skipped++;
            }
        }

        endOffset = offset + consumed;
        return skipped;
    }
}

/// <summary>What every append-only JSON-lines file of the product does at its end: tell a whole last line, cut a partial one.</summary>
internal static class JsonLinesFile
{
    /// <summary>True when the file's last byte is a newline (its last line is whole).</summary>
    internal static bool EndsWithNewline(FileStream stream, long length)
    {
        Span<byte> last = stackalloc byte[1];
        return RandomAccess.Read(stream.SafeFileHandle, last, length - 1) == 1 && last[0] == (byte)'\n';
    }

    /// <summary>Cuts a partial last line off, where it can; never throws.</summary>
    internal static void TryTruncate(FileStream stream, long length)
    {
        try
        {
            stream.SetLength(length);
        }
        catch (IOException)
        {
            // Readers skip the partial line anyway; the next append starts after it on a new line only if we
            // could truncate, so a failure here costs at most one unreadable record.
        }
    }
}
