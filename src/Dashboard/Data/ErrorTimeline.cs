using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Dashboard.Data;

/// <summary>One bucket of the errors chart: what went wrong in <c>[Start, Start + bucket)</c>, counted as <see cref="ServiceLifecycle"/> counts.</summary>
internal sealed record ErrorBucket(DateTimeOffset Start, int Restarts, int Failures, int Hangs, int LimitEvents, int Fatal);

/// <summary>The errors chart's data: <see cref="ErrorBucket"/>s of equal length over a window ending now, oldest first, and their totals.</summary>
internal sealed record ErrorsView(DateTimeOffset At, string Window, int BucketSeconds, string? Service, IReadOnlyList<string> Services,
    IReadOnlyList<ErrorBucket> Buckets, ErrorBucket Totals);

/// <summary>
/// Restarts, failures, hangs, limit events and fatal episodes per service in five-minute slots over the last seven
/// days (issue #24's errors chart), fed the events the dashboard reads anyway (all of <c>events.jsonl</c> at its start,
/// then what is appended), each service's through its own <see cref="ServiceLifecycle"/>, so the chart counts exactly
/// what <c>Get-ProcessStatus</c> and <c>Get-StabilityReport</c> count. Slots are sparse (an hour without errors costs
/// nothing) and those older than the longest window are dropped. Thread-safe: one writer (the refresh loop), any number of readers.
/// </summary>
internal sealed class ErrorTimeline
{
    /// <summary>The finest slot.</summary>
    public static readonly TimeSpan Slot = TimeSpan.FromMinutes(5);

    /// <summary>The windows a chart may ask for, each with its bucket (a multiple of <see cref="Slot"/>).</summary>
    public static readonly IReadOnlyDictionary<string, (TimeSpan Length, TimeSpan Bucket)> Windows = new Dictionary<string, (TimeSpan, TimeSpan)>(StringComparer.Ordinal)
    {
        ["1h"] = (TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)),
        ["24h"] = (TimeSpan.FromHours(24), TimeSpan.FromHours(1)),
        ["7d"] = (TimeSpan.FromDays(7), TimeSpan.FromHours(6)),
    };

    private static readonly TimeSpan Kept = TimeSpan.FromDays(7) + TimeSpan.FromHours(6);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ServiceLifecycle> _lifecycles = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Service, long Slot), int[]> _slots = [];
    private readonly TimeProvider _time;

    public ErrorTimeline(TimeProvider time) => _time = time;

    /// <summary>Adds events in file order (each service's are in time order there but for relayed ones).</summary>
    public void Add(IReadOnlyList<StabilityEvent> events)
    {
        lock (_gate)
        {
            foreach (var e in events)
            {
                if (e.Service is not { Length: > 0 } service)
                {
                    continue;
                }

                if (!_lifecycles.TryGetValue(service, out var lifecycle))
                {
                    _lifecycles[service] = lifecycle = new ServiceLifecycle();
                }

                var kinds = lifecycle.Observe(e);
                if ((kinds & ~ServiceEventKinds.Start) == ServiceEventKinds.None)
                {
                    continue;
                }

                var key = (service, SlotOf(e.Time));
                if (!_slots.TryGetValue(key, out var counts))
                {
                    _slots[key] = counts = new int[5];
                }

                counts[0] += kinds.HasFlag(ServiceEventKinds.Restart) ? 1 : 0;
                counts[1] += kinds.HasFlag(ServiceEventKinds.Failure) ? 1 : 0;
                counts[2] += kinds.HasFlag(ServiceEventKinds.Hang) ? 1 : 0;
                counts[3] += kinds.HasFlag(ServiceEventKinds.LimitEvent) ? 1 : 0;
                counts[4] += kinds.HasFlag(ServiceEventKinds.Fatal) ? 1 : 0;
            }

            var oldest = SlotOf(_time.GetUtcNow() - Kept);
            foreach (var stale in _slots.Keys.Where(k => k.Slot < oldest).ToList())
            {
                _slots.Remove(stale);
            }
        }
    }

    /// <summary>The buckets of <paramref name="window"/> (a key of <see cref="Windows"/>) ending now, for one service or all (null).</summary>
    public ErrorsView View(string window, string? service)
    {
        var (length, bucket) = Windows[window];
        var now = _time.GetUtcNow();
        // Buckets end at the next slot boundary, so the newest bucket holds what happened in the last few minutes.
        var end = new DateTimeOffset((SlotOf(now) + 1) * Slot.Ticks, TimeSpan.Zero);
        var count = (int)(length / bucket);
        var start = end - bucket * count;
        var sums = new int[count, 5];
        List<string> services;
        lock (_gate)
        {
            services = [.. _slots.Keys.Select(k => k.Service).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            foreach (var ((name, slot), counts) in _slots)
            {
                var at = new DateTimeOffset(slot * Slot.Ticks, TimeSpan.Zero);
                if ((service is not null && name != service) || at < start || at >= end)
                {
                    continue;
                }

                var index = (int)((at - start) / bucket);
                for (var k = 0; k < 5; k++)
                {
                    sums[index, k] += counts[k];
                }
            }
        }

        var buckets = Enumerable.Range(0, count)
            .Select(i => new ErrorBucket(start + bucket * i, sums[i, 0], sums[i, 1], sums[i, 2], sums[i, 3], sums[i, 4]))
            .ToList();
        var totals = new ErrorBucket(start, buckets.Sum(b => b.Restarts), buckets.Sum(b => b.Failures), buckets.Sum(b => b.Hangs),
            buckets.Sum(b => b.LimitEvents), buckets.Sum(b => b.Fatal));
        return new ErrorsView(now, window, (int)bucket.TotalSeconds, service, services, buckets, totals);
    }

    private static long SlotOf(DateTimeOffset time) => time.UtcTicks / Slot.Ticks;
}
