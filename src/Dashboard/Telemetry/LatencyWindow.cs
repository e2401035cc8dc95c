namespace StabilityTools.Dashboard.Telemetry;

/// <summary>The most recent N samples (ms) and their percentiles. Thread-safe; memory is fixed.</summary>
internal sealed class LatencyWindow(int size)
{
    private readonly Lock _gate = new();
    private readonly double[] _samples = new double[size];
    private long _count;

    /// <summary>Samples ever added.</summary>
    public long Count => Interlocked.Read(ref _count);

    public void Add(double milliseconds)
    {
        lock (_gate)
        {
            _samples[_count % _samples.Length] = milliseconds;
            _count++;
        }
    }

    /// <summary>The <paramref name="p"/>-th percentile (0..100) of the window, nearest rank; 0 when empty.</summary>
    public double Percentile(double p)
    {
        double[] copy;
        lock (_gate)
        {
            copy = _samples[..(int)Math.Min(_count, _samples.Length)];
        }

        if (copy.Length == 0)
        {
            return 0;
        }

        Array.Sort(copy);
        var rank = (int)Math.Ceiling(p / 100 * copy.Length) - 1;
        return copy[Math.Clamp(rank, 0, copy.Length - 1)];
    }
}
