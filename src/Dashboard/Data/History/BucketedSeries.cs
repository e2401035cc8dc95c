namespace StabilityTools.Dashboard.Data.History;

/// <summary>
/// The metrics of one kind of record (epoch or step) of one run, summarised in at most <see cref="Capacity"/> buckets of
/// consecutive records, each keeping every metric's minimum and maximum point. The buckets are built as the log is
/// read, so the memory is fixed however long the run: when record N no longer fits, neighbouring buckets merge pairwise
/// and each bucket then covers twice as many records. A chart of at most <c>max_points</c> merges the buckets further in
/// equal groups; since a group keeps its extremes, a spike of one record among millions is always drawn (min/max
/// downsampling, as in TensorBoard's and Aim's servers).
/// </summary>
/// <remarks>Not thread-safe: the owning <see cref="RunHistory"/> serializes every call.</remarks>
internal sealed class BucketedSeries
{
    /// <summary>Buckets per metric: every chart of up to twice as many points is served exactly from them.</summary>
    public const int Capacity = 1024;

    private readonly Dictionary<string, MetricBuckets> _metrics = new(StringComparer.Ordinal);
    private long _records;
    private long _width = 1;

    /// <summary>Records of this kind read so far.</summary>
    public long Records => _records;

    /// <summary>The metrics seen, with how many records carried each.</summary>
    public IEnumerable<(string Name, long Count, HistoryPoint Last)> Metrics => _metrics.Select(m => (m.Key, m.Value.Count, m.Value.Last));

    public bool Has(string metric) => _metrics.ContainsKey(metric);

    public void Add(MetricLine line)
    {
        var bucket = _records / _width;
        if (bucket >= Capacity)
        {
            Compact();
            bucket = _records / _width;
        }

        foreach (var (name, value) in line.Values)
        {
            if (!_metrics.TryGetValue(name, out var metric))
            {
                _metrics[name] = metric = new MetricBuckets();
            }

            metric.Add((int)bucket, new HistoryPoint(value, line.Step, line.Epoch, line.Ticks));
        }

        _records++;
    }

    /// <summary>
    /// The metric's points, at most <paramref name="maxPoints"/> (at least 3), in ascending x: each group of buckets gives
    /// its minimum and maximum, and the newest value is always the last point. Empty for a metric never seen.
    /// </summary>
    public List<HistoryPoint> Points(string metric, int maxPoints)
    {
        if (!_metrics.TryGetValue(metric, out var buckets))
        {
            return [];
        }

        var used = buckets.Used;
        // Two points a group, plus the newest value.
        var group = Math.Max(1, (2 * used + maxPoints - 2) / (maxPoints - 1));
        var points = new List<HistoryPoint>(Math.Min(maxPoints, 2 * used + 1));
        for (var start = 0; start < used; start += group)
        {
            var merged = buckets.Merge(start, Math.Min(used, start + group));
            if (merged.Count == 0)
            {
                continue;
            }

            // In record order within the group (by time, then step), so a spike sits where it happened.
            var (first, second) = Later(merged.Min, merged.Max) ? (merged.Max, merged.Min) : (merged.Min, merged.Max);
            points.Add(first);
            if (second != first)
            {
                points.Add(second);
            }
        }

        if (points.Count == 0 || points[^1] != buckets.Last)
        {
            if (points.Count >= maxPoints)
            {
                points.RemoveAt(points.Count - 1);
            }

            points.Add(buckets.Last);
        }

        return points;
    }

    /// <summary>Writes every bucket, for a saved index (<see cref="HistoryIndexFile"/>): read back, the series is the same as before.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(_records);
        writer.Write(_width);
        writer.Write(_metrics.Count);
        foreach (var (name, metric) in _metrics)
        {
            writer.Write(name);
            metric.Save(writer);
        }
    }

    /// <summary>
    /// Reads what <see cref="Save"/> wrote, with its names interned in <paramref name="names"/>; null when it breaks a rule that
    /// adding records never breaks (more buckets than <see cref="Capacity"/>, a name the run never kept, counts that do not add
    /// up, a value that is not finite): such an index is not trusted, whatever its checksum says.
    /// </summary>
    /// <exception cref="EndOfStreamException">The data ends early.</exception>
    public static BucketedSeries? Load(BinaryReader reader, MetricNames names)
    {
        var series = new BucketedSeries { _records = reader.ReadInt64(), _width = reader.ReadInt64() };
        var count = reader.ReadInt32();
        if (series._records < 0 || series._width < 1 || !long.IsPow2(series._width) || series.BucketsInUse > Capacity || count is < 0 or > MetricNames.MaxNames)
        {
            return null;
        }

        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            if (!names.Contains(name) || series._metrics.ContainsKey(name)
                || MetricBuckets.Load(reader, series.BucketsInUse, series._records) is not { } metric)
            {
                return null;
            }

            series._metrics[names.Intern(name.AsSpan())!] = metric;
        }

        return series;
    }

    // The buckets the records so far fill: the last record's bucket, plus one.
    private long BucketsInUse => (_records + _width - 1) / _width;

    private static void Write(BinaryWriter writer, HistoryPoint point)
    {
        writer.Write(point.Value);
        writer.Write(point.Step);
        writer.Write(point.Epoch);
        writer.Write(point.Ticks);
    }

    private static HistoryPoint ReadPoint(BinaryReader reader) => new(reader.ReadDouble(), reader.ReadInt64(), reader.ReadInt32(), reader.ReadInt64());

    private static bool Later(HistoryPoint a, HistoryPoint b) => a.Ticks != b.Ticks ? a.Ticks > b.Ticks : a.Step > b.Step;

    private void Compact()
    {
        foreach (var metric in _metrics.Values)
        {
            metric.Halve();
        }

        _width *= 2;
    }

    /// <summary>A bucket: how many values, the smallest and the largest (the first of equal ones).</summary>
    internal struct Bucket
    {
        public int Count;
        public HistoryPoint Min;
        public HistoryPoint Max;

        public void Add(HistoryPoint point)
        {
            if (Count == 0 || point.Value < Min.Value)
            {
                Min = point;
            }

            if (Count == 0 || point.Value > Max.Value)
            {
                Max = point;
            }

            Count++;
        }

        public void Add(in Bucket other)
        {
            if (other.Count == 0)
            {
                return;
            }

            if (Count == 0 || other.Min.Value < Min.Value)
            {
                Min = other.Min;
            }

            if (Count == 0 || other.Max.Value > Max.Value)
            {
                Max = other.Max;
            }

            Count += other.Count;
        }
    }

    private sealed class MetricBuckets
    {
        // Grown as records arrive, up to Capacity: a run of ten records holds ten buckets, not two thousand.
        private Bucket[] _buckets = new Bucket[16];

        public long Count { get; private set; }

        public HistoryPoint Last { get; private set; }

        /// <summary>Buckets in use (the highest one written, plus one).</summary>
        public int Used { get; private set; }

        public void Add(int bucket, HistoryPoint point)
        {
            if (bucket >= _buckets.Length)
            {
                Array.Resize(ref _buckets, Math.Min(Capacity, Math.Max(bucket + 1, _buckets.Length * 2)));
            }

            _buckets[bucket].Add(point);
            Used = Math.Max(Used, bucket + 1);
            Count++;
            Last = point;
        }

        public Bucket Merge(int from, int to)
        {
            var merged = default(Bucket);
            for (var i = from; i < to; i++)
            {
                merged.Add(_buckets[i]);
            }

            return merged;
        }

        public void Save(BinaryWriter writer)
        {
            writer.Write(Count);
            Write(writer, Last);
            writer.Write(Used);
            for (var i = 0; i < Used; i++)
            {
                writer.Write(_buckets[i].Count);
                Write(writer, _buckets[i].Min);
                Write(writer, _buckets[i].Max);
            }
        }

        /// <summary>A metric's buckets as <see cref="Save"/> wrote them; null when they do not add up (see <see cref="BucketedSeries.Load"/>).</summary>
        public static MetricBuckets? Load(BinaryReader reader, long bucketsInUse, long records)
        {
            var count = reader.ReadInt64();
            var last = ReadPoint(reader);
            var used = reader.ReadInt32();
            if (count < 0 || count > records || used < 0 || used > bucketsInUse || (count > 0) != (used > 0) || !double.IsFinite(last.Value))
            {
                return null;
            }

            var metric = new MetricBuckets { _buckets = new Bucket[Math.Max(16, used)], Count = count, Last = last, Used = used };
            long sum = 0;
            for (var i = 0; i < used; i++)
            {
                ref var bucket = ref metric._buckets[i];
                bucket.Count = reader.ReadInt32();
                bucket.Min = ReadPoint(reader);
                bucket.Max = ReadPoint(reader);
                if (bucket.Count < 0 || (bucket.Count > 0 && !(double.IsFinite(bucket.Min.Value) && double.IsFinite(bucket.Max.Value) && bucket.Min.Value <= bucket.Max.Value)))
                {
                    return null;
                }

                sum += bucket.Count;
            }

            return sum == count ? metric : null;
        }

        public void Halve()
        {
            var half = (Used + 1) / 2;
            for (var k = 0; k < half; k++)
            {
                var merged = _buckets[2 * k];
                if (2 * k + 1 < Used)
                {
                    merged.Add(_buckets[2 * k + 1]);
                }

                _buckets[k] = merged;
            }

            Array.Clear(_buckets, half, _buckets.Length - half);
            Used = half;
        }
    }
}
