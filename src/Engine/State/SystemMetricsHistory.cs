// Overview: a bounded, downsampled history of one service's CPU, memory and GPU memory (issue #24), kept like a
// round-robin database in one JSON-lines file. The supervisor appends one point a heartbeat; when the file holds
// more than maxPoints points, the older half is merged pairwise and the file is rewritten atomically, so it never
// grows past about maxPoints lines, the newest points stay at full resolution and older ones get coarser the older
// they are. Appends and compactions take the file's lock (<file>.lock, as every status file); readers take none:
// an append is one write of whole lines and a compaction is a rename, so a reader sees whole points, at most a
// partial last line that a killed writer left, which it skips.
using System.Buffers;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.State;

/// <summary>
/// A service's system metrics over time, <c>system_metrics.jsonl</c>: appended a point a heartbeat by its supervisor,
/// compacted when over <see cref="MaxPoints"/> (the older half merged pairwise, the newer half kept as it is).
/// </summary>
/// <remarks>
/// Here rather than beside <see cref="JsonLinesLog{T}"/> in Status because where the file lives (<see cref="PathFor"/>)
/// is the state directory's business, and Status sits below State. One instance per file and writer; not thread-safe
/// (the supervisor appends from its tick only). Other writers of the same file are tolerated: the point count kept
/// between appends is checked against the file's length and counted again when the file changed under it.
/// </remarks>
public sealed class SystemMetricsHistory
{
    /// <summary>The file's name, in a run's folder or a service's.</summary>
    public const string FileName = "system_metrics.jsonl";

    /// <summary>The default bound on the points kept: at a 5 s heartbeat, the last ~1.4 h at full resolution and older ones merged.</summary>
    public const int DefaultMaxPoints = 2048;

    /// <summary>The smallest bound accepted: a compaction needs an older half of at least two points to merge.</summary>
    public const int MinMaxPoints = 4;

    // A point is some 200 bytes; anything much longer is not one of ours and is skipped unread.
    private const int MaxLineBytes = 64 * 1024;

    private readonly TimeSpan _lockTimeout;
    private long _knownLength = -1;
    private int _knownPoints;

    /// <summary>Creates a history at <paramref name="path"/>; the file is created on the first append.</summary>
    /// <param name="path">The file (see <see cref="PathForSpec"/>).</param>
    /// <param name="maxPoints">Compact when the file holds more points than this. Default <see cref="DefaultMaxPoints"/>.</param>
    /// <param name="lockTimeout">How long an append waits for the file's lock. Default 5 s.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPoints"/> is below <see cref="MinMaxPoints"/>.</exception>
    public SystemMetricsHistory(string path, int maxPoints = DefaultMaxPoints, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, MinMaxPoints);
        Path = path;
        MaxPoints = maxPoints;
        _lockTimeout = lockTimeout ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The bound on the points kept.</summary>
    public int MaxPoints { get; }

    /// <summary>How many compactions this instance's appends have made (a caller may return the memory one used).</summary>
    public int Compactions { get; private set; }

    /// <summary>
    /// Where a service's history lives: <c>runs/&lt;runId&gt;/system_metrics.jsonl</c> for a service with a run (a
    /// trainer, a sweep trial: one history per run, removed with it), else <c>services/&lt;name&gt;/system_metrics.jsonl</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The service name or run id is not valid.</exception>
    public static string PathFor(StateDirectory state, string service, string? runId)
    {
        ArgumentNullException.ThrowIfNull(state);
        return string.IsNullOrEmpty(runId)
            ? System.IO.Path.Combine(state.ServiceDirectory(service), FileName)
            : System.IO.Path.Combine(state.Run(runId).Directory, FileName);
    }

    /// <summary>
    /// Where the history of <paramref name="service"/> started by <paramref name="spec"/> is kept: <see cref="PathFor"/> of
    /// the spec's run (or of <paramref name="runId"/>, another run of the service), except for a service run as another
    /// user (<see cref="ServiceSpec.RunAsUser"/>), whose run folders are handed to that user (<see cref="RunDelegation"/>):
    /// its history is the service's. The supervisor writes by this rule and <see cref="Locate"/> reads by it.
    /// </summary>
    /// <remarks>
    /// A handed-over folder is its user's to write: a history there could be rewritten by the very service it measures,
    /// and its lock file, held by that service, would stall the supervisor's tick a lock timeout per heartbeat. The
    /// service's folder stays the supervisor's own (owner-only) and is never reached by the service.
    /// </remarks>
    /// <exception cref="ArgumentException">The service name or run id is not valid.</exception>
    public static string PathForSpec(StateDirectory state, string service, ServiceSpec? spec, string? runId = null) =>
        PathFor(state, service, spec?.RunAsUser is not null ? null : runId ?? spec?.RunId);

    /// <summary>
    /// Where the history of <paramref name="service"/> (its current run's, or run <paramref name="runId"/>'s) is kept,
    /// by the service's spec.json (<see cref="PathForSpec"/>); without a spec, <see cref="PathFor"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The service name or run id is not valid.</exception>
    /// <exception cref="ServiceNotFoundException">Neither the service nor run <paramref name="runId"/> exists.</exception>
    public static string Locate(StateDirectory state, string service, string? runId = null, StatusStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var spec = (store ?? new StatusStore()).Read<ServiceSpec>(state.ServiceSpecPath(service)).Document;
        var path = PathForSpec(state, service, spec, runId);
        // A removed service's runs are still there to read; a name that never was is worth saying so.
        return spec is not null || Directory.Exists(state.ServiceDirectory(service)) || (runId is not null && Directory.Exists(state.Run(runId).Directory))
            ? path
            : throw new ServiceNotFoundException(service, state.Root);
    }

    /// <summary>
    /// The history of <paramref name="service"/> (<see cref="Locate"/>), at most <paramref name="maxPoints"/> points over
    /// the whole of it when given (<see cref="Downsample"/>): what a chart or <c>Get-ResourceUsage -History</c> shows.
    /// </summary>
    /// <exception cref="ArgumentException">The service name or run id is not valid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPoints"/> is below 1.</exception>
    /// <exception cref="ServiceNotFoundException">Neither the service nor run <paramref name="runId"/> exists.</exception>
    /// <exception cref="UnsafeFileException">A symbolic link is where the history belongs.</exception>
    public static SystemMetricsRead ReadFor(StateDirectory state, string service, string? runId = null, int? maxPoints = null)
    {
        var read = Read(Locate(state, service, runId));
        return maxPoints is { } max ? read with { Points = Downsample(read.Points, max) } : read;
    }

    /// <summary>
    /// Appends <paramref name="sample"/> as one line (values rounded to hundredths, time to milliseconds), then, when the
    /// file holds more than <see cref="MaxPoints"/> points, compacts it: the older half merged pairwise, the newer half
    /// kept, rewritten atomically (a temporary file renamed over it). The folder must exist.
    /// </summary>
    /// <exception cref="LockTimeoutException">The lock was held for the whole bounded wait.</exception>
    /// <exception cref="StatusWriteException">
    /// The append or the rewrite failed (disk full, no permission, or an unsafe file refused: <see cref="StatusWriteException.IsUnsafeFile"/>,
    /// a link or a file of someone else's at the name); the points already there are intact.
    /// </exception>
    public void Append(SystemMetricsPoint sample, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sample);
        // The point and its newline in one buffer: one write, so a reader never sees a point without its line's end.
        var line = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(line))
        {
            JsonSerializer.Serialize(writer, Rounded(sample), StatusJson.TypeInfo<SystemMetricsPoint>());
        }

        line.Write("\n"u8);
        using var held = FileLock.Acquire(StatusStore.LockPathFor(Path), _lockTimeout, cancellationToken);
        try
        {
            long length;
            using (var stream = SafeFile.Open(Path, SafeFileMode.Append, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                var start = stream.Position;
                if (start != _knownLength)
                {
                    // First append of this instance, or the file changed under it (another writer, a removal): count once.
                    _knownPoints = CountLines(stream, start);
                }

                try
                {
                    if (start > 0 && !JsonLinesFile.EndsWithNewline(stream, start))
                    {
                        // A writer died mid-line: end that line so this point is not glued onto it.
                        stream.WriteByte((byte)'\n');
                    }

                    stream.Write(line.WrittenSpan);
                }
                catch (IOException)
                {
                    // A short write (disk full) would leave a partial line; cut it off so the next point starts clean.
                    JsonLinesFile.TryTruncate(stream, start);
                    _knownLength = -1;
                    throw;
                }

                length = stream.Position;
            }

            _knownPoints++;
            _knownLength = length;
            if (_knownPoints > MaxPoints)
            {
                Compact();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StatusWriteException(Path, IoErrors.IsDiskFull(ex), ex);
        }
    }

    /// <summary>
    /// Every point of the file at <paramref name="path"/>, oldest first. Never throws for the file's content: corrupt
    /// lines and a partial last line are skipped and counted; a missing file (or folder) is an empty history.
    /// </summary>
    /// <exception cref="UnsafeFileException">A symbolic link is at <paramref name="path"/>; the product never reads through one.</exception>
    /// <exception cref="IOException">The file could not be read (no permission, an I/O error).</exception>
    public static SystemMetricsRead Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var points = new List<SystemMetricsPoint>();
        var skipped = 0;
        try
        {
            using var stream = SafeFile.OpenRead(path);
            foreach (var point in Lines(stream))
            {
                if (point is null)
                {
                    skipped++;
                }
                else
                {
                    points.Add(point);
                }
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new SystemMetricsRead([], 0);
        }

        return new SystemMetricsRead(points, skipped);
    }

    /// <summary>
    /// At most <paramref name="maxPoints"/> points over the whole of <paramref name="points"/> (oldest first), each run of
    /// adjacent points merged into one (means weighted by samples, maxima of maxima, spans joined): what a chart asks for.
    /// Returns <paramref name="points"/> itself when it already fits.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPoints"/> is below 1.</exception>
    public static IReadOnlyList<SystemMetricsPoint> Downsample(IReadOnlyList<SystemMetricsPoint> points, int maxPoints)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        if (points.Count <= maxPoints)
        {
            return points;
        }

        // Groups of equal size, rounded up, so the result never exceeds maxPoints; the last group may be shorter.
        var size = (points.Count + maxPoints - 1) / maxPoints;
        var result = new List<SystemMetricsPoint>((points.Count + size - 1) / size);
        for (var i = 0; i < points.Count; i += size)
        {
            var merged = points[i];
            for (var j = i + 1; j < Math.Min(i + size, points.Count); j++)
            {
                merged = Merge(merged, points[j]);
            }

            result.Add(merged);
        }

        return result;
    }

    /// <summary>
    /// One point for two adjacent ones, <paramref name="older"/> first: it ends where <paramref name="newer"/> ends (its
    /// time and pid), spans from the start of <paramref name="older"/>, sums the samples, weights the means by them and
    /// keeps the maxima. The GPU figures are merged over the points that have them; null only when neither has.
    /// </summary>
    public static SystemMetricsPoint Merge(SystemMetricsPoint older, SystemMetricsPoint newer)
    {
        ArgumentNullException.ThrowIfNull(older);
        ArgumentNullException.ThrowIfNull(newer);
        // A point claims at least one sample: a hand-written zero must not divide by zero or erase the other's weight.
        double a = Math.Max(older.Samples, 1), b = Math.Max(newer.Samples, 1);
        var start = older.Time.AddMilliseconds(-older.SpanMs);
        return new SystemMetricsPoint
        {
            Time = newer.Time,
            SpanMs = Math.Max((long)(newer.Time - start).TotalMilliseconds, older.SpanMs + newer.SpanMs),
            Samples = (int)Math.Min(a + b, int.MaxValue),
            Pid = newer.Pid,
            CpuPercent = (older.CpuPercent * a + newer.CpuPercent * b) / (a + b),
            CpuMaxPercent = Math.Max(older.CpuMaxPercent, newer.CpuMaxPercent),
            MemoryMb = (older.MemoryMb * a + newer.MemoryMb * b) / (a + b),
            MemoryMaxMb = Math.Max(older.MemoryMaxMb, newer.MemoryMaxMb),
            GpuMemoryMb = (older.GpuMemoryMb, newer.GpuMemoryMb) switch
            {
                ({ } x, { } y) => (x * a + y * b) / (a + b),
                (var x, var y) => x ?? y,
            },
            GpuMemoryMaxMb = (older.GpuMemoryMaxMb, newer.GpuMemoryMaxMb) switch
            {
                ({ } x, { } y) => Math.Max(x, y),
                (var x, var y) => x ?? y,
            },
        };
    }

    /// <summary>The points a compaction keeps: the older half of <paramref name="points"/> merged pairwise, the newer half as it is.</summary>
    internal static List<SystemMetricsPoint> Compacted(IReadOnlyList<SystemMetricsPoint> points)
    {
        var result = new List<SystemMetricsPoint>(points.Count);
        Compact(points, points.Count, result.Add);
        return result;
    }

    // The one rule of a compaction, over points read one at a time: of `count`, the first half (rounded down to an even
    // number) merged pairwise, the rest passed on as they are. An odd older half leaves its newest point alone; it is
    // merged at the next compaction.
    private static void Compact(IEnumerable<SystemMetricsPoint> points, int count, Action<SystemMetricsPoint> keep)
    {
        var merged = count / 2 - (count / 2 % 2);
        var index = 0;
        SystemMetricsPoint? pending = null;
        foreach (var point in points)
        {
            if (index++ >= merged)
            {
                keep(point);
            }
            else if (pending is null)
            {
                pending = point;
            }
            else
            {
                keep(Rounded(Merge(pending, point)));
                pending = null;
            }
        }
    }

    private void Compact()
    {
        // Under the lock, so no append of ours lands between the two passes and the rename. Two passes over the file, a
        // line at a time, rather than the file in memory: a compaction holds a line and a point at a time and nothing
        // of it lands on the large-object heap (the idle goals of issue #16). Its parsing still makes garbage, which a
        // long-lived caller collects after it (Compactions; the supervisor does, bench/RESULTS.md).
        int count;
        using (var counting = SafeFile.OpenRead(Path))
        {
            count = Lines(counting).Count(p => p is not null);
        }

        var kept = 0;
        long bytes = 0;
        var typeInfo = StatusJson.TypeInfo<SystemMetricsPoint>();
        // A history is cheap to lose and rewritten often: the rename keeps it whole, an fsync would buy nothing more.
        AtomicFile.Replace(Path, output =>
        {
            using var source = SafeFile.OpenRead(Path);
            using var writer = new Utf8JsonWriter(output);
            Compact(Lines(source).OfType<SystemMetricsPoint>(), count, point =>
            {
                JsonSerializer.Serialize(writer, point, typeInfo);
                writer.Flush();
                output.WriteByte((byte)'\n');
                bytes += writer.BytesCommitted + 1;
                writer.Reset();
                kept++;
            });
        }, fsync: false);
        _knownPoints = kept;
        _knownLength = bytes;
        Compactions++;
    }

    // Hundredths are finer than any chart shows and keep a month of history (DefaultMaxPoints lines) near 300 KB.
    private static SystemMetricsPoint Rounded(SystemMetricsPoint point) => point with
    {
        Time = new DateTimeOffset(point.Time.UtcTicks - (point.Time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero),
        CpuPercent = Math.Round(point.CpuPercent, 2),
        CpuMaxPercent = Math.Round(point.CpuMaxPercent, 2),
        MemoryMb = Math.Round(point.MemoryMb, 2),
        MemoryMaxMb = Math.Round(point.MemoryMaxMb, 2),
        GpuMemoryMb = point.GpuMemoryMb is { } gpu ? Math.Round(gpu, 2) : null,
        GpuMemoryMaxMb = point.GpuMemoryMaxMb is { } gpuMax ? Math.Round(gpuMax, 2) : null,
    };

    // Every line of the file as a point, or null for a line that is not one (damaged, over MaxLineBytes, or a partial
    // last line: a writer killed mid-append, or one still writing). Empty lines are no line. Reads through a small
    // buffer, grown only for a line longer than it (up to MaxLineBytes), so a whole file is never held at once.
    private static IEnumerable<SystemMetricsPoint?> Lines(Stream stream)
    {
        var buffer = new byte[8 * 1024];
        int start = 0, end = 0;
        var oversized = false;
        while (true)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (newline >= 0)
            {
                var length = newline - start;
                if (oversized)
                {
                    oversized = false;
                    yield return null;
                }
                else if (length > 0 && !(length == 1 && buffer[start] == (byte)'\r'))
                {
                    yield return ParseLine(buffer, start, length);
                }

                start = newline + 1;
                continue;
            }

            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }

            if (end == buffer.Length)
            {
                if (buffer.Length < MaxLineBytes)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                else
                {
                    // Not one of ours: drop what there is of it and skip to its end.
                    oversized = true;
                    end = 0;
                }
            }

            var read = stream.Read(buffer, end, buffer.Length - end);
            if (read <= 0)
            {
                if (oversized || end > 0)
                {
                    yield return null;
                }

                yield break;
            }

            end += read;
        }
    }

    private static SystemMetricsPoint? ParseLine(byte[] buffer, int start, int length)
    {
        try
        {
            return JsonSerializer.Deserialize(buffer.AsSpan(start, length), StatusJson.TypeInfo<SystemMetricsPoint>());
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    // The lines a compaction would count as points: whole non-empty lines. A corrupt one is counted too, which only
    // brings the next compaction a little closer; the compaction itself drops it.
    private static int CountLines(FileStream stream, long length)
    {
        var buffer = new byte[64 * 1024];
        var lines = 0;
        var previous = (byte)'\n';
        for (long offset = 0; offset < length;)
        {
            var read = RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - offset)), offset);
            if (read <= 0)
            {
                break;
            }

            foreach (var b in buffer.AsSpan(0, read))
            {
                if (b == (byte)'\n' && previous != (byte)'\n')
                {
                    lines++;
                }

                previous = b;
            }

            offset += read;
        }

        return lines;
    }
}
