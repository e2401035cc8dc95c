using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Reporting;

/// <summary>
/// The container of checkpoints and final models: a magic, a JSON metadata block, length-prefixed binary blobs
/// (model state, optimizer state, RNG state), and a SHA-256 of everything before it. Written atomically
/// (temporary sibling, fsync, rename, fsync of the directory), so a kill at any instant leaves no torn file under
/// the final name; and verified on read, so a file damaged later is detected, never half-loaded.
/// </summary>
internal static partial class CheckpointFile
{
    private static readonly byte[] Magic = "STCKPT01"u8.ToArray();

    /// <summary>Writes the container to <paramref name="path"/> atomically and durably.</summary>
    public static void Write(string path, string metadataJson, IReadOnlyList<byte[]> blobs)
    {
        var body = new MemoryStream();
        body.Write(Magic);
        var metadata = Encoding.UTF8.GetBytes(metadataJson);
        WriteLength(body, metadata.Length);
        body.Write(metadata);
        WriteLength(body, blobs.Count);
        foreach (var blob in blobs)
        {
            WriteLength(body, blob.Length);
            body.Write(blob);
        }

        var hash = SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length));
        body.Write(hash);

        // A fresh, unguessable name, created exclusively and never through a link (SafeFile).
        var temp = SafeFile.TemporaryName(path);
        try
        {
            using (var stream = SafeFile.Open(temp, SafeFileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(body.GetBuffer(), 0, (int)body.Length);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (IOException)
        {
            // A half-written temporary file on a full disk holds the very space a retry needs.
            TryDelete(temp);
            throw;
        }

        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Reads and verifies the container.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, damaged or not a checkpoint.</exception>
    public static (string MetadataJson, IReadOnlyList<byte[]> Blobs) Read(string path)
    {
        byte[] bytes;
        using (var file = SafeFile.OpenRead(path))
        {
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }

        if (bytes.Length < Magic.Length + 8 + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a StabilityTools checkpoint (bad header)");
        }

        var payload = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
        {
            throw new InvalidDataException("checksum mismatch (the file is truncated or damaged)");
        }

        var offset = Magic.Length;
        var metadata = Encoding.UTF8.GetString(Take(payload, ref offset));
        var count = ReadLength(payload, ref offset);
        var blobs = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            blobs.Add(Take(payload, ref offset).ToArray());
        }

        return (metadata, blobs);
    }

    private static void WriteLength(Stream stream, int length)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, length);
        stream.Write(buffer);
    }

    private static int ReadLength(ReadOnlySpan<byte> payload, ref int offset)
    {
        if (offset + 4 > payload.Length)
        {
            throw new InvalidDataException("truncated");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(payload[offset..]);
        offset += 4;
        return length >= 0 ? length : throw new InvalidDataException("negative length");
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> payload, ref int offset)
    {
        var length = ReadLength(payload, ref offset);
        if (offset + length > payload.Length)
        {
            throw new InvalidDataException("truncated");
        }

        var slice = payload.Slice(offset, length);
        offset += length;
        return slice;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Swept by the next start (CheckpointStore.SweepTemporaries).
        }
    }

    /// <summary>fsync the directory so the rename itself survives a power loss (POSIX); a no-op elsewhere.</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
