using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Data;

/// <summary>The newest events in memory, each with a sequence number (1-based, in file order) that clients page by. Thread-safe.</summary>
internal sealed class EventFeed(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Queue<SequencedEvent> _events = new();
    private long _last;

    /// <summary>The sequence number of the newest event (0 when none).</summary>
    public long LastSeq => Interlocked.Read(ref _last);

    /// <summary>Adds events in file order.</summary>
    public bool Add(IReadOnlyList<StabilityEvent> events)
    {
        if (events.Count == 0)
        {
            return false;
        }

        lock (_gate)
        {
            foreach (var e in events)
            {
                _events.Enqueue(new SequencedEvent(Interlocked.Increment(ref _last), e));
                if (_events.Count > capacity)
                {
                    _events.Dequeue();
                }
            }
        }

        return true;
    }

    /// <summary>The newest <paramref name="limit"/> events after <paramref name="sinceSeq"/> at or above <paramref name="minimumSeverity"/>, oldest first.</summary>
    public IReadOnlyList<SequencedEvent> After(long sinceSeq, int limit, int minimumSeverity = 0)
    {
        lock (_gate)
        {
            return _events.Where(e => e.Seq > sinceSeq && SeverityRank(e.Event.Severity) >= minimumSeverity).TakeLast(limit).ToList();
        }
    }

    /// <summary>0 info, 1 warning, 2 error.</summary>
    public static int SeverityRank(EventSeverity severity) => severity switch
    {
        EventSeverity.Error => 2,
        EventSeverity.Warning => 1,
        _ => 0,
    };

    /// <summary>The rank of a severity a client asked for: 0 info, 1 warning, 2 error (unknown words count as info).</summary>
    public static int SeverityRank(string? severity) => severity switch
    {
        "error" or "fatal" => 2,
        "warning" or "warn" => 1,
        _ => 0,
    };
}
