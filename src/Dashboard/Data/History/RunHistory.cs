using System.Buffers;
using Microsoft.Extensions.Logging;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>
/// The downsampled history of one run's <c>metrics.jsonl</c>, kept up to date by reading only what was appended since the
/// last look (the file's tail), into fixed-size <see cref="BucketedSeries"/> (one for epoch records, one for step records).
/// Memory is bounded per run whatever the log's length; a query costs a stat, a read of the new bytes, and a pass over at
/// most <see cref="BucketedSeries.Capacity"/> buckets per metric.
/// </summary>
/// <remarks>
/// Concurrency: every call takes the run's lock, so one request catches the index up and the others that arrive meanwhile
/// wait for it rather than read the same bytes again. A rotated or rewritten log (shorter than what was read, or another
/// first line) is indexed again from its oldest retained file; rotation happens every <see cref="JsonLinesOptions.MaxFileBytes"/>,
/// so that is rare.
/// <para>
/// With an <c>indexPath</c> the index is also saved there (<see cref="HistoryIndexFile"/>) once a megabyte or more of the log
/// was read since the last save, and the first read of a new instance starts from the saved index when it is whole and of
/// the log as it is, reading only the lines appended after it: a run's first read then costs a few milliseconds however
/// long its log, in a dashboard that restarted or had dropped the run from its cache. An index that is not (see
/// <see cref="HistoryIndexFile.TryLoad"/>) is ignored and replaced after the log was read again.
/// </para>
/// </remarks>
internal sealed class RunHistory(string metricsPath, int retainedFiles, string? indexPath = null, ILogger? logger = null)
{
    /// <summary>Log bytes read since the index was last saved (or loaded) after which it is saved again; shorter logs are read whole in milliseconds.</summary>
    public const long SaveAfterBytes = 1024 * 1024;

    private const int ChunkBytes = 1024 * 1024;
    private const int SignatureBytes = HistoryIndexFile.StartBytes;

    private readonly Lock _gate = new();
    private MetricNames _names = new();
    private BucketedSeries _epochs = new();
    private BucketedSeries _steps = new();
    private long _offset;
    private byte[] _signature = [];
    private long _firstTicks;
    private bool _indexLooked;
    private bool _indexRejected;
    private bool _saveFailureLogged;
    private long _readSinceSave;

    /// <summary>When a request last used it (ticks of <see cref="Environment.TickCount64"/>), for eviction.</summary>
    public long LastUsed { get; private set; } = Environment.TickCount64;

    /// <summary>Lines that were not metric records.</summary>
    public long SkippedLines { get; private set; }

    /// <summary>Bytes of the log (rotated files included) this instance has read itself: not those a saved index stood for.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Where the saved index this instance started from ended in the log; 0 when it started from the log's beginning.</summary>
    public long LoadedFromIndex { get; private set; }

    /// <summary>Catches up with the log, then runs <paramref name="query"/> over the index under the run's lock.</summary>
    public T Read<T>(Func<RunHistorySnapshot, T> query)
    {
        lock (_gate)
        {
            LastUsed = Environment.TickCount64;
            CatchUp();
            return query(new RunHistorySnapshot(_epochs, _steps, _firstTicks, SkippedLines + _names.Ignored));
        }
    }

    private void CatchUp()
    {
        long length;
        try
        {
            var info = new FileInfo(metricsPath);
            length = info.Exists ? info.Length : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        if (!_indexLooked)
        {
            _indexLooked = true;
            LoadIndex();
        }

        if (length < _offset || (_offset > 0 && !ReadSignature(metricsPath).AsSpan().SequenceEqual(_signature)))
        {
            // Rotated or rewritten: what was indexed may no longer be where it was read.
            Reset();
        }

        if (_offset == 0 && length > 0)
        {
            for (var i = retainedFiles; i >= 1; i--)
            {
                Counted(0, ReadFile(LogRotation.RotatedPath(metricsPath, i), 0));
            }

            _signature = ReadSignature(metricsPath);
        }

        if (length > _offset)
        {
            _offset = Counted(_offset, ReadFile(metricsPath, _offset));
        }

        SaveIndexIfDue();
    }

    private long Counted(long from, long to)
    {
        BytesRead += to - from;
        _readSinceSave += to - from;
        return to;
    }

    private void LoadIndex()
    {
        if (indexPath is null)
        {
            return;
        }

        if (HistoryIndexFile.TryLoad(indexPath, metricsPath, retainedFiles, out var rejected) is not { } saved)
        {
            if (rejected is not null)
            {
                _indexRejected = true;
                logger?.LogInformation("The history index {Index} is not used ({Reason}); the log is read again and the index rewritten.", indexPath, rejected);
            }

            return;
        }

        (_names, _epochs, _steps, _offset, _signature, _firstTicks, SkippedLines) = (saved.Names, saved.Epochs, saved.Steps, saved.Offset, saved.LogStart, saved.FirstTicks, saved.SkippedLines);
        LoadedFromIndex = saved.Offset;
    }

    private void SaveIndexIfDue()
    {
        if (indexPath is null || _offset == 0 || (_readSinceSave < SaveAfterBytes && !_indexRejected))
        {
            return;
        }

        try
        {
            if (HistoryIndexFile.Save(indexPath, metricsPath, retainedFiles, _signature, new HistoryIndexFile.Contents(_offset, _firstTicks, SkippedLines, _names, _epochs, _steps)))
            {
                _readSinceSave = 0;
            }
        }
        catch (Exception ex) when (ex is StabilityException or IOException or UnauthorizedAccessException)
        {
            // The index only saves time: without it the dashboard reads the log as before. Tried again after as many bytes again.
            _readSinceSave = 0;
            if (!_saveFailureLogged)
            {
                _saveFailureLogged = true;
                logger?.LogWarning("Could not save the history index {Index}: {Error} The dashboard reads the run's whole log when it starts again.", indexPath, ex.Message);
            }
        }

        _indexRejected = false;
    }

    private void Reset()
    {
        (_names, _epochs, _steps, _offset, _signature, _firstTicks, SkippedLines) = (new MetricNames(), new BucketedSeries(), new BucketedSeries(), 0, [], 0, 0);
    }

    private static byte[] ReadSignature(string path)
    {
        try
        {
            using var stream = SafeFile.OpenRead(path);
            var buffer = new byte[SignatureBytes];
            var read = stream.ReadAtLeast(buffer, SignatureBytes, throwOnEndOfStream: false);
            return buffer[..read];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Indexes the complete lines of <paramref name="path"/> from <paramref name="offset"/>; returns where the first incomplete line starts.</summary>
    private long ReadFile(string path, long offset)
    {
        FileStream stream;
        try
        {
            stream = SafeFile.OpenRead(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return offset;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var line = new MetricLine();
        try
        {
            using (stream)
            {
                stream.Seek(offset, SeekOrigin.Begin);
                var held = 0;
                var skipping = false;
                while (true)
                {
                    var read = stream.Read(buffer, held, buffer.Length - held);
                    if (read == 0)
                    {
                        // An incomplete last line is a record still being written: read it again next time.
                        return offset;
                    }

                    var span = buffer.AsSpan(0, held + read);
                    int newline;
                    while ((newline = span.IndexOf((byte)'\n')) >= 0)
                    {
                        if (!skipping)
                        {
                            Index(line, span[..newline].TrimEnd((byte)'\r'));
                        }

                        skipping = false;
                        offset += newline + 1;
                        span = span[(newline + 1)..];
                    }

                    if (span.Length == buffer.Length)
                    {
                        // A line longer than a chunk is no record the trainer writes (they are far below 1 MiB): skip it.
                        SkippedLines += skipping ? 0 : 1;
                        skipping = true;
                        offset += span.Length;
                        held = 0;
                        continue;
                    }

                    span.CopyTo(buffer);
                    held = span.Length;
                }
            }
        }
        catch (IOException)
        {
            return offset;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Index(MetricLine line, ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        if (!line.TryParse(text, _names))
        {
            SkippedLines++;
            return;
        }

        if (_firstTicks == 0 || line.Ticks < _firstTicks)
        {
            _firstTicks = line.Ticks;
        }

        (line.IsEpoch ? _epochs : _steps).Add(line);
    }
}

/// <summary>What a query sees of a run's index, under its lock.</summary>
internal readonly record struct RunHistorySnapshot(BucketedSeries Epochs, BucketedSeries Steps, long FirstTicks, long SkippedLines);
