namespace StabilityTools.Supervisor;

/// <summary>
/// A size-rotated capture file (<c>stdout.log</c>, <c>.1</c> … <c>.N</c>): when the next chunk would take the
/// current file past its size, the files shift up, the oldest is dropped and a new file starts, so the disk used
/// stays below <c>(N + 1) × size</c> however much a service writes. Thread-safe: the pumps of an old run and
/// a new one may write at once. Above its rate limit the pump stops reading for the rest of the second: the pipe
/// fills and the service waits in write(2), as a container's blocking log driver makes it. That bounds the
/// supervisor's CPU under a flood and loses no output.
/// </summary>
internal sealed class RotatingLog : IDisposable
{
    private readonly List<Thread> _pumps = [];
    private readonly object _gate = new();
    private readonly string _path;
    private long _maxBytes;
    private int _maxFiles;
    private FileStream? _stream;
    private long _length;
    private long _rateLimit;
    private readonly Action<long>? _onThrottled;
    private readonly Action<StabilityTools.Engine.Errors.UnsafeFileException>? _onRefused;
    private long _lastThrottleReport = -60_000;
    private long _lastRefusalReport = -60_000;

    /// <param name="path">The current file.</param>
    /// <param name="maxBytes">Rotate before a file would pass this size.</param>
    /// <param name="maxFiles">Rotated files kept.</param>
    /// <param name="rateLimit">Bytes per second the pump copies at most; 0: no limit.</param>
    /// <param name="onThrottled">Told (at most once a minute, from the pump's thread) that the limit slowed the service.</param>
    /// <param name="onRefused">Told (at most once a minute) that a link or a foreign file stood at the log's name, so output was dropped rather than written through it.</param>
    public RotatingLog(string path, long maxBytes, int maxFiles, long rateLimit = 0, Action<long>? onThrottled = null,
        Action<StabilityTools.Engine.Errors.UnsafeFileException>? onRefused = null)
    {
        _onRefused = onRefused;
        _path = path;
        _maxBytes = maxBytes;
        _maxFiles = maxFiles;
        _rateLimit = rateLimit;
        _onThrottled = onThrottled;
    }

    public long BytesWritten { get; private set; }

    public void Reconfigure(long maxBytes, int maxFiles, long rateLimit)
    {
        lock (_gate)
        {
            _maxBytes = maxBytes;
            _maxFiles = maxFiles;
            _rateLimit = rateLimit;
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> (a service's pipe) into the log until it ends, on a thread of its own that
    /// blocks in read(2): under a full-speed flood an async read hands every chunk from the I/O thread to a pool
    /// thread, which costs the supervisor more than the copy itself. The thread costs nothing while the pipe is quiet.
    /// </summary>
    public void StartPump(Stream source, string name)
    {
        var thread = new Thread(() => Pump(source), 64 * 1024) { IsBackground = true, Name = name };
        lock (_pumps)
        {
            _pumps.RemoveAll(t => !t.IsAlive);
            _pumps.Add(thread);
        }

        thread.Start();
    }

    /// <summary>
    /// Waits, at most <paramref name="bound"/> in all, for the pumps to reach the end of their pipes: a supervisor that
    /// ends once its service ended still captures what the service wrote last (a writer's children may hold a pipe open
    /// longer; the bound keeps the supervisor's end from waiting on them).
    /// </summary>
    public void WaitForPumps(TimeSpan bound)
    {
        Thread[] pumps;
        lock (_pumps)
        {
            pumps = [.. _pumps];
        }

        var deadline = Environment.TickCount64 + (long)bound.TotalMilliseconds;
        foreach (var pump in pumps)
        {
            pump.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
        }
    }

    private void Pump(Stream source)
    {
        // A pipe holds 64 KiB by default: one read takes what a flood left there.
        var buffer = new byte[64 * 1024];
        var window = System.Diagnostics.Stopwatch.StartNew();
        long inWindow = 0;
        try
        {
            while (true)
            {
                var n = source.Read(buffer);
                if (n == 0)
                {
                    return;
                }

                Write(buffer.AsSpan(0, n));
                inWindow += n;
                var limit = Volatile.Read(ref _rateLimit);
                if (window.Elapsed >= TimeSpan.FromSeconds(1))
                {
                    window.Restart();
                    inWindow = 0;
                }
                else if (limit > 0 && inWindow >= limit)
                {
                    ReportThrottle(limit);
                    Thread.Sleep(TimeSpan.FromSeconds(1) - window.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
                    window.Restart();
                    inWindow = 0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe broke or the run was disposed: the capture of this run is over.
        }
        finally
        {
            source.Dispose();
        }
    }

    private void ReportThrottle(long limit)
    {
        var now = Environment.TickCount64;
        if (_onThrottled is not null && now - _lastThrottleReport >= 60_000)
        {
            _lastThrottleReport = now;
            _onThrottled(limit);
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            try
            {
                var stream = _stream ?? Open();
                // The length is kept rather than asked for: fstat(2) on every chunk of a flood adds up.
                if (_length > 0 && _length + data.Length > _maxBytes)
                {
                    Rotate();
                    stream = Open();
                }

                // A single chunk larger than the whole file is cut to its last part: the limit holds regardless.
                if (data.Length > _maxBytes)
                {
                    data = data[^(int)_maxBytes..];
                }

                stream.Write(data);
                stream.Flush();
                _length += data.Length;
                BytesWritten += data.Length;
            }
            catch (IOException ex)
            {
                // Disk full, the file vanished, or something unsafe stands at its name: drop this chunk rather than
                // stall the service on its pipe (and never write through a planted link).
                _stream?.Dispose();
                _stream = null;
                if (ex is StabilityTools.Engine.Errors.UnsafeFileException unsafeFile && _onRefused is not null
                    && Environment.TickCount64 - _lastRefusalReport >= 60_000)
                {
                    _lastRefusalReport = Environment.TickCount64;
                    _onRefused(unsafeFile);
                }
            }
        }
    }

    private FileStream Open()
    {
        _stream = StabilityTools.Engine.Platform.SafeFile.Open(_path, StabilityTools.Engine.Platform.SafeFileMode.Append,
            FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _length = _stream.Length;
        return _stream;
    }

    private void Rotate()
    {
        _stream?.Dispose();
        _stream = null;
        StabilityTools.Engine.Status.LogRotation.Shift(_path, _maxFiles);
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
