using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// The metric history in memory, oldest first, bounded (the oldest records are dropped). An epoch record
/// for a (run, epoch) already held replaces it, so a restarted trainer that repeats an epoch shows it once.
/// Records are addressed by an absolute index that survives trimming, so stream clients can ask for "what
/// came after index N"; <see cref="Generation"/> changes whenever earlier records changed in place.
/// Thread-safe: one writer (the refresh loop), any number of readers.
/// </summary>
internal sealed class MetricHistory(int capacity)
{
    private readonly Lock _gate = new();
    private readonly List<MetricRecord> _records = [];
    private readonly Dictionary<(string?, int), long> _epochIndex = [];
    private long _dropped;
    private long _generation;

    /// <summary>Records ever held (dropped included): the absolute index of the next record.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _dropped + _records.Count;
            }
        }
    }

    /// <summary>Changes when records before <see cref="Count"/> changed in place (a replaced epoch, a reset).</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Adds records in file order; true when anything changed.</summary>
    public bool Add(IReadOnlyList<MetricRecord> records)
    {
        if (records.Count == 0)
        {
            return false;
        }

        lock (_gate)
        {
            foreach (var record in records)
            {
                if (record.Kind == MetricKind.Epoch)
                {
                    var key = (record.RunId, record.Epoch);
                    if (_epochIndex.TryGetValue(key, out var at) && at >= _dropped)
                    {
                        _records[(int)(at - _dropped)] = record;
                        Interlocked.Increment(ref _generation);
                        continue;
                    }

                    _epochIndex[key] = _dropped + _records.Count;
                }

                _records.Add(record);
            }

            if (_records.Count > capacity)
            {
                // Trim a tenth at once so trimming stays rare (it moves the whole list).
                var excess = _records.Count - capacity + capacity / 10;
                _records.RemoveRange(0, excess);
                _dropped += excess;
                foreach (var stale in _epochIndex.Where(e => e.Value < _dropped).Select(e => e.Key).ToList())
                {
                    _epochIndex.Remove(stale);
                }
            }
        }

        return true;
    }

    /// <summary>Forgets every record (the dashboard follows another run); indexes keep counting up, so a stream client resyncs.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _dropped += _records.Count;
            _records.Clear();
            _epochIndex.Clear();
            Interlocked.Increment(ref _generation);
        }
    }

    /// <summary>Records from absolute index <paramref name="from"/> on, at most <paramref name="max"/>; null when <paramref name="from"/> was dropped already.</summary>
    public IReadOnlyList<MetricRecord>? After(long from, int max)
    {
        lock (_gate)
        {
            if (from < _dropped)
            {
                return null;
            }

            var start = (int)Math.Min(from - _dropped, _records.Count);
            return _records.GetRange(start, Math.Min(max, _records.Count - start));
        }
    }

    /// <summary>
    /// The records after <paramref name="since"/> of the given kind, downsampled to at most
    /// <paramref name="maxPoints"/>: consecutive records are averaged in equal buckets, and the newest
    /// record is always returned as it is.
    /// </summary>
    public (int Total, IReadOnlyList<MetricRecord> Records) Query(DateTimeOffset? since, MetricKind? kind, int maxPoints)
    {
        List<MetricRecord> matching;
        lock (_gate)
        {
            matching = _records.Where(r => (since is null || r.Time > since) && (kind is null || r.Kind == kind)).ToList();
        }

        // Time order for charts: a resumed run may append records older than ones already held.
        matching.Sort((a, b) => a.Time.CompareTo(b.Time));
        return (matching.Count, Downsample(matching, maxPoints));
    }

    internal static IReadOnlyList<MetricRecord> Downsample(List<MetricRecord> records, int maxPoints)
    {
        if (records.Count <= maxPoints)
        {
            return records;
        }

        var result = new List<MetricRecord>(maxPoints);
        var body = records.Count - 1;
        var buckets = maxPoints - 1;
        for (var b = 0; b < buckets; b++)
        {
            var start = (int)((long)b * body / buckets);
            var end = (int)((long)(b + 1) * body / buckets);
            if (end > start)
            {
                result.Add(Average(records, start, end));
            }
        }

        result.Add(records[^1]);
        return result;
    }

    private static MetricRecord Average(List<MetricRecord> records, int start, int end)
    {
        var last = records[end - 1];
        return last with
        {
            Kind = records[start].Kind == last.Kind ? last.Kind : MetricKind.Mixed,
            TrainLoss = Mean(records, start, end, r => r.TrainLoss),
            TrainAccuracy = Mean(records, start, end, r => r.TrainAccuracy),
            ValLoss = Mean(records, start, end, r => r.ValLoss),
            ValAccuracy = Mean(records, start, end, r => r.ValAccuracy),
            SamplesPerSec = Mean(records, start, end, r => r.SamplesPerSec),
        };
    }

    private static double? Mean(List<MetricRecord> records, int start, int end, Func<MetricRecord, double?> field)
    {
        double sum = 0;
        var n = 0;
        for (var i = start; i < end; i++)
        {
            if (field(records[i]) is { } value && double.IsFinite(value))
            {
                sum += value;
                n++;
            }
        }

        return n == 0 ? null : sum / n;
    }
}
