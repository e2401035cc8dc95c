namespace StabilityTools.Dashboard.Telemetry;

/// <summary>What the dashboard measures about itself: connections, requests, errors, latency. Thread-safe.</summary>
internal sealed class RequestStats(TimeProvider time)
{
    private long _requests;
    private long _errors;
    private int _inFlight;
    private int _streams;
    private long _slowStreamsClosed;

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>The address served, once the server has started.</summary>
    public string? Url { get; set; }

    public LatencyWindow Latency { get; } = new(2048);

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Responses with status 500 or more.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Requests in progress, open streams included.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public int Streams => Volatile.Read(ref _streams);

    public void RequestStarted()
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _inFlight);
    }

    public void RequestEnded(int statusCode, double? latencyMs)
    {
        Interlocked.Decrement(ref _inFlight);
        if (statusCode >= 500)
        {
            Interlocked.Increment(ref _errors);
        }

        if (latencyMs is { } ms)
        {
            Latency.Add(ms);
        }
    }

    /// <summary>Counts a stream slot; false when <paramref name="max"/> are open already.</summary>
    public bool TryOpenStream(int max)
    {
        if (Interlocked.Increment(ref _streams) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _streams);
        return false;
    }

    public void CloseStream() => Interlocked.Decrement(ref _streams);

    /// <summary>Streams disconnected because their client took longer than the send timeout for one message.</summary>
    public long SlowStreamsClosed => Interlocked.Read(ref _slowStreamsClosed);

    public void SlowStreamClosed() => Interlocked.Increment(ref _slowStreamsClosed);
}
