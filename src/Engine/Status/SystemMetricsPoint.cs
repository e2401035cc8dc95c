namespace StabilityTools.Engine.Status;

/// <summary>
/// One line of a service's <c>system_metrics.jsonl</c> (docs/status-files.md): its CPU, memory and GPU memory over a
/// span of time, a single heartbeat sample (<see cref="Samples"/> 1, <see cref="SpanMs"/> 0) or older samples merged
/// by <see cref="State.SystemMetricsHistory"/>'s compaction.
/// </summary>
public sealed record SystemMetricsPoint
{
    /// <summary>The end of the span the point covers, UTC (the time of its newest sample).</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>How long a span the point covers, from its oldest sample to its newest; 0 for a single sample.</summary>
    public long SpanMs { get; init; }

    /// <summary>How many heartbeat samples were merged into it (the weight of its means in a further merge).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>The service's pid at the point's end; 0 when none was running.</summary>
    public int Pid { get; init; }

    /// <summary>CPU use of the process tree, mean over the span, in percent of one core (as status.json's <c>cpu_usage</c>).</summary>
    public double CpuPercent { get; init; }

    /// <summary>The highest sampled CPU use in the span, percent of one core.</summary>
    public double CpuMaxPercent { get; init; }

    /// <summary>Resident memory of the process tree, mean over the span, in MB.</summary>
    public double MemoryMb { get; init; }

    /// <summary>The highest sampled resident memory in the span, MB.</summary>
    public double MemoryMaxMb { get; init; }

    /// <summary>GPU memory of the process tree, mean over the samples that had a reading, MB; null where no GPU is sampled.</summary>
    public double? GpuMemoryMb { get; init; }

    /// <summary>The highest sampled GPU memory in the span, MB; null where no GPU is sampled.</summary>
    public double? GpuMemoryMaxMb { get; init; }
}
