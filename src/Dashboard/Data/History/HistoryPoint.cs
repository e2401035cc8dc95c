namespace StabilityTools.Dashboard.Data.History;

/// <summary>One value of a metric with every x it can be drawn against (step, epoch, wall time).</summary>
internal readonly record struct HistoryPoint(double Value, long Step, int Epoch, long Ticks)
{
    /// <summary>The point's x on <paramref name="axis"/>; wall time in Unix milliseconds, relative time in seconds since <paramref name="originTicks"/>.</summary>
    public double X(HistoryAxis axis, long originTicks) => axis switch
    {
        HistoryAxis.Step => Step,
        HistoryAxis.Epoch => Epoch,
        HistoryAxis.Wall => (Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond,
        _ => (Ticks - originTicks) / (double)TimeSpan.TicksPerSecond,
    };
}

/// <summary>What a history's x-axis is: the optimizer step, the epoch, wall-clock time or time since the run's first record.</summary>
internal enum HistoryAxis
{
    Step,
    Epoch,
    Wall,
    Relative,
}
