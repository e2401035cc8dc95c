namespace StabilityTools.Supervisor;

/// <summary>
/// A size-rotated capture file (<c>stdout.log</c>, <c>.1</c> … <c>.N</c>): when the next chunk would take the
/// current file past its size, the files shift up, the oldest is dropped and a new file starts, so the disk used
/// stays below <c>(N + 1) × size</c> however much a service writes. Thread-safe: the pumps of an old run and
/// a new one may write at once.
/// </summary>
internal sealed class RotatingLog : IDisposable
{
    private readonly object _gate = new();
    private readonly string _path;
    private long _maxBytes;
    private int _maxFiles;
    private FileStream? _stream;

    public RotatingLog(string path, long maxBytes, int maxFiles)
    {
        _path = path;
        _maxBytes = maxBytes;
        _maxFiles = maxFiles;
    }

    public long BytesWritten { get; private set; }

    public void Reconfigure(long maxBytes, int maxFiles)
    {
        lock (_gate)
        {
            _maxBytes = maxBytes;
            _maxFiles = maxFiles;
        }
    }

    /// <summary>Copies <paramref name="source"/> (a service's pipe) into the log until it ends.</summary>
    public async Task PumpAsync(Stream source)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await source.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                Write(buffer.AsSpan(0, n));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe broke or the run was disposed: the capture of this run is over.
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            try
            {
                var stream = _stream ??= Open();
                if (stream.Length > 0 && stream.Length + data.Length > _maxBytes)
                {
                    Rotate();
                    stream = _stream = Open();
                }

                // A single chunk larger than the whole file is cut to its last part: the limit holds regardless.
                if (data.Length > _maxBytes)
                {
                    data = data[^(int)_maxBytes..];
                }

                stream.Write(data);
                stream.Flush();
                BytesWritten += data.Length;
            }
            catch (IOException)
            {
                // Disk full or the file vanished: drop this chunk rather than stall the service on its pipe.
                _stream?.Dispose();
                _stream = null;
            }
        }
    }

    private FileStream Open() => new(_path, StabilityTools.Engine.Platform.FilePermissions.CreateOptions(
        FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));

    private void Rotate()
    {
        _stream?.Dispose();
        _stream = null;
        if (_maxFiles == 0)
        {
            File.Delete(_path);
            return;
        }

        File.Delete($"{_path}.{_maxFiles}");
        for (var i = _maxFiles - 1; i >= 1; i--)
        {
            if (File.Exists($"{_path}.{i}"))
            {
                File.Move($"{_path}.{i}", $"{_path}.{i + 1}", overwrite: true);
            }
        }

        File.Move(_path, $"{_path}.1", overwrite: true);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}
