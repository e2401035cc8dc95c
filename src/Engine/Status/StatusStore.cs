using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Status;

/// <summary>
/// Reads and writes status documents by the status-file protocol (docs/status-files.md).
/// </summary>
/// <remarks>
/// Writers: exclusive lock on <c>&lt;file&gt;.lock</c> (bounded wait), write <c>&lt;file&gt;.tmp-&lt;pid&gt;-&lt;random&gt;</c>,
/// fsync, rename over <c>&lt;file&gt;</c>, release. A process killed at any instant leaves either the old or the
/// new document, never a torn one, and the kernel releases its lock.
/// Readers take no lock: rename is atomic, so they always open a whole document. They cap the size read,
/// retry transient errors briefly and report missing, corrupt, oversized and stale documents as states.
/// Thread-safe; one instance may serve any number of files.
/// </remarks>
public sealed class StatusStore
{
    private readonly StatusStoreOptions _options;
    private readonly ConcurrentDictionary<string, byte> _swept = new(StringComparer.Ordinal);

    /// <summary>Creates a store with the given options (defaults when null).</summary>
    public StatusStore(StatusStoreOptions? options = null)
    {
        _options = (options ?? StatusStoreOptions.Default).Validate();
    }

    /// <summary>The options in force.</summary>
    public StatusStoreOptions Options => _options;

    /// <summary>The lock file that guards <paramref name="path"/>.</summary>
    public static string LockPathFor(string path) => path + ".lock";

    /// <summary>
    /// Writes <paramref name="document"/> atomically to <paramref name="path"/>, stamping <c>schema</c>,
    /// <c>seq</c> (one more than the document it replaces), <c>written_at</c> and <c>writer</c>.
    /// </summary>
    /// <returns>The document as written, with its envelope.</returns>
    /// <exception cref="LockTimeoutException">The lock was held by another process for the whole bounded wait.</exception>
    /// <exception cref="StatusWriteException">The write failed (disk full, no permission); the previous document is intact.</exception>
    public T Write<T>(string path, T document, CancellationToken cancellationToken = default)
        where T : StatusDocument, IStatusSchema
    {
        ArgumentNullException.ThrowIfNull(document);
        using var held = FileLock.Acquire(LockPathFor(path), _options.LockTimeout, cancellationToken);
        return WriteLocked(path, document, ReadSeq(path));
    }

    /// <summary>
    /// Locked read-modify-write: reads the current document (null when missing), applies
    /// <paramref name="update"/>, and writes the result, all under the lock, so concurrent updaters in
    /// any process never lose each other's changes. A document that exists but cannot be read is never
    /// written over: that would silently drop everything it holds.
    /// </summary>
    /// <exception cref="CorruptDocumentException">The document exists but is corrupt, oversized or unreadable; it is left byte for byte as it is and <paramref name="update"/> is not called.</exception>
    /// <exception cref="LockTimeoutException">The lock was held by another process for the whole bounded wait.</exception>
    /// <exception cref="StatusWriteException">The write failed; the previous document is intact.</exception>
    public T Update<T>(string path, Func<T?, T> update, CancellationToken cancellationToken = default)
        where T : StatusDocument, IStatusSchema
    {
        ArgumentNullException.ThrowIfNull(update);
        using var held = FileLock.Acquire(LockPathFor(path), _options.LockTimeout, cancellationToken);
        var current = Read<T>(path);
        if (current.State is not (ReadState.Ok or ReadState.Stale or ReadState.Missing))
        {
            throw new CorruptDocumentException(path, current.State, current.Error ?? "it could not be read");
        }

        var next = update(current.Document) ?? throw new ArgumentException("The update returned null.", nameof(update));
        return WriteLocked(path, next, current.Document?.Seq ?? ReadSeq(path));
    }

    /// <summary>Reads the document at <paramref name="path"/>; never throws for the file's condition.</summary>
    /// <param name="path">The document's path.</param>
    /// <param name="staleAfter">When given, a document older than this is reported <see cref="ReadState.Stale"/> (with the document).</param>
    public ReadResult<T> Read<T>(string path, TimeSpan? staleAfter = null)
        where T : StatusDocument, IStatusSchema
    {
        var raw = ReadBytes(path, out var buffer, out var length, out var owner);
        if (raw is not null)
        {
            return new ReadResult<T>(raw.Value.State, path, null, raw.Value.Error, null) { OwnerUid = owner };
        }

        try
        {
            return Parse<T>(path, buffer.AsSpan(0, length), staleAfter) with { OwnerUid = owner };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Deletes the document (not its lock file), under the lock. Missing is fine.</summary>
    public void Delete(string path, CancellationToken cancellationToken = default)
    {
        using var held = FileLock.Acquire(LockPathFor(path), _options.LockTimeout, cancellationToken);
        File.Delete(path);
    }

    private T WriteLocked<T>(string path, T document, long previousSeq)
        where T : StatusDocument, IStatusSchema
    {
        SweepStaleTemporaries(path);
        var stamped = (T)document.Stamp(
            $"{T.SchemaName}/{T.SchemaVersion}",
            previousSeq + 1,
            _options.TimeProvider.GetUtcNow(),
            WriterInfo.Current);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(stamped, StatusJson.TypeInfo<T>());
        AtomicFile.Replace(path, bytes, _options.Fsync);
        return stamped;
    }

    /// <summary>
    /// Once per file and store, under the lock: removes <c>&lt;file&gt;.tmp-&lt;pid&gt;</c> files left by writers that
    /// were killed between writing and renaming. Such files are never read, only disk clutter.
    /// </summary>
    private void SweepStaleTemporaries(string path)
    {
        if (!_swept.TryAdd(path, 0))
        {
            return;
        }

        var directory = System.IO.Path.GetDirectoryName(path);
        var prefix = System.IO.Path.GetFileName(path) + ".tmp-";
        if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            // <pid>-<random> (this store) or <pid> (older writers, the Python example).
            var suffix = System.IO.Path.GetFileName(file)[prefix.Length..];
            var dash = suffix.IndexOf('-', StringComparison.Ordinal);
            if (int.TryParse(dash < 0 ? suffix : suffix[..dash], out var pid) && pid != Environment.ProcessId && !ProcessIdentity.PidExists(pid))
            {
                try
                {
                    File.Delete(file);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Someone else swept it first, or it is not ours to delete: either way not worth failing a write.
                }
            }
        }
    }

    private ReadResult<T> Parse<T>(string path, ReadOnlySpan<byte> json, TimeSpan? staleAfter)
        where T : StatusDocument, IStatusSchema
    {
        T? document;
        try
        {
            document = JsonSerializer.Deserialize(json, StatusJson.TypeInfo<T>());
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            return new ReadResult<T>(ReadState.Corrupt, path, null, $"not valid JSON{where}: {ex.Message}", null);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return new ReadResult<T>(ReadState.Corrupt, path, null, ex.Message, null);
        }

        if (document is null)
        {
            return new ReadResult<T>(ReadState.Corrupt, path, null, "the document is JSON null", null);
        }

        var schemaError = CheckSchema<T>(document.Schema);
        if (schemaError is not null)
        {
            return new ReadResult<T>(ReadState.Corrupt, path, null, schemaError, null);
        }

        var age = _options.TimeProvider.GetUtcNow() - document.WrittenAt;
        var state = staleAfter is { } bound && age > bound ? ReadState.Stale : ReadState.Ok;
        return new ReadResult<T>(state, path, document, state == ReadState.Stale ? $"written {age.TotalSeconds:0.0} s ago" : null, age);
    }

    private static string? CheckSchema<T>(string schema)
        where T : IStatusSchema
    {
        var expected = $"{T.SchemaName}/{T.SchemaVersion}";
        if (schema == expected)
        {
            return null;
        }

        return string.IsNullOrEmpty(schema)
            ? $"the document has no 'schema' (expected '{expected}')"
            : $"the document's schema is '{schema}', expected '{expected}'";
    }

    /// <summary>Reads the whole file into a pooled buffer; returns a state instead when there is nothing to parse.</summary>
    private (ReadState State, string Error)? ReadBytes(string path, out byte[] buffer, out int length, out int? owner)
    {
        buffer = [];
        length = 0;
        owner = null;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // Never through a link; full sharing on Windows, so a writer's rename over this file never fails there.
                using var stream = SafeFile.OpenRead(path);
                owner = SafeFile.OwnerOf(stream) is var uid and >= 0 ? uid : null;
                var size = stream.Length;
                if (size > _options.MaxDocumentBytes)
                {
                    return (ReadState.Oversized, $"the file is {size} bytes, over the {_options.MaxDocumentBytes}-byte cap");
                }

                // Read to the end rather than trusting Length: it is the same inode for the whole read.
                buffer = ArrayPool<byte>.Shared.Rent((int)size + 1);
                while (true)
                {
                    var n = stream.Read(buffer, length, buffer.Length - length);
                    if (n == 0)
                    {
                        break;
                    }

                    length += n;
                    if (length > _options.MaxDocumentBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = [];
                        return (ReadState.Oversized, $"the file grew past the {_options.MaxDocumentBytes}-byte cap while being read");
                    }

                    if (length == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }

                return null;
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                ReturnBuffer(ref buffer);
                return (ReadState.Missing, "no such file");
            }
            catch (UnauthorizedAccessException ex)
            {
                ReturnBuffer(ref buffer);
                return (ReadState.Unreadable, ex.Message);
            }
            catch (UnsafeFileException ex)
            {
                ReturnBuffer(ref buffer);
                return (ReadState.Unreadable, ex.Message);
            }
            catch (IOException ex)
            {
                ReturnBuffer(ref buffer);
                length = 0;
                if (attempt >= _options.ReadRetries)
                {
                    return (ReadState.Unreadable, ex.Message);
                }

                Thread.Sleep(1 << attempt);
            }
        }
    }

    private static void ReturnBuffer(ref byte[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
    }

    /// <summary>The <c>seq</c> of the current document, 0 when it is missing or unreadable.</summary>
    private long ReadSeq(string path)
    {
        if (ReadBytes(path, out var buffer, out var length, out _) is not null)
        {
            return 0;
        }

        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return 0;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isSeq = reader.ValueTextEquals("seq"u8);
                reader.Read();
                if (isSeq)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seq) ? seq : 0;
                }

                reader.Skip();
            }

            return 0;
        }
        catch (JsonException)
        {
            return 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
