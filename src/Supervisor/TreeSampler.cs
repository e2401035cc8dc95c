using StabilityTools.Engine.Platform;

namespace StabilityTools.Supervisor;

/// <summary>
/// Samples CPU % and RSS of a service's whole tree once a call, from one <c>/proc</c> snapshot, and reaps zombies of
/// orphans the supervisor adopted as subreaper (by pid, never <c>waitpid(-1)</c>, and never a child .NET waits on).
/// </summary>
internal sealed class TreeSampler
{
    private readonly int _self = Environment.ProcessId;
    private Dictionary<int, long> _previousTicks = new();
    private long _previousAt;

    public double CpuPercent { get; private set; }

    public double MemoryMb { get; private set; }

    public int ProcessCount { get; private set; }

    /// <summary>The live processes of the service's tree at the last sample.</summary>
    public IReadOnlyCollection<int> TreePids { get; private set; } = [];

    /// <param name="servicePid">The running service (0 when none).</param>
    /// <param name="ownChildren">Children .NET started and reaps itself (the service, alert commands).</param>
    /// <param name="nowTimestamp">Now, as a <see cref="System.Diagnostics.Stopwatch"/> timestamp.</param>
    /// <param name="timestampFrequency">Stopwatch ticks per second.</param>
    public void Sample(int servicePid, IReadOnlySet<int> ownChildren, long nowTimestamp, double timestampFrequency)
    {
        // Only the supervisor's children and the service's descendants are read, never all of /proc: this runs
        // every second in every supervisor. Orphans the service left behind are the supervisor's children (it is
        // their subreaper), so they are found too.
        var adopted = ProcessTable.Children(_self).Where(p => p != servicePid && !ownChildren.Contains(p)).ToList();
        var entries = new Dictionary<int, ProcessEntry>();
        foreach (var pid in ProcessTable.Descendants(servicePid > 0 ? adopted.Append(servicePid) : adopted))
        {
            if (ProcessTable.Read(pid) is { } entry)
            {
                entries[pid] = entry;
            }
        }

        foreach (var pid in adopted)
        {
            if (entries.TryGetValue(pid, out var entry) && entry.IsZombie)
            {
                Native.TryReap(pid);
            }
        }

        var tree = servicePid > 0 ? entries.Keys.ToHashSet() : [];
        var ticks = new Dictionary<int, long>(tree.Count);
        long rss = 0, delta = 0;
        foreach (var pid in tree)
        {
            if (!entries.TryGetValue(pid, out var entry) || entry.IsZombie)
            {
                continue;
            }

            ticks[pid] = entry.CpuTicks;
            rss += entry.RssBytes;
            delta += _previousTicks.TryGetValue(pid, out var before) ? Math.Max(0, entry.CpuTicks - before) : entry.CpuTicks;
        }

        var seconds = _previousAt == 0 ? 0 : (nowTimestamp - _previousAt) / timestampFrequency;
        CpuPercent = seconds > 0 ? Math.Round(delta * 100.0 / ProcessTable.TicksPerSecond / seconds, 1) : 0;
        MemoryMb = Math.Round(rss / (1024.0 * 1024.0), 1);
        ProcessCount = ticks.Count;
        TreePids = ticks.Keys.ToList();
        _previousTicks = ticks;
        _previousAt = nowTimestamp;
    }
}
