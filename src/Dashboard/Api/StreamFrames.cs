using System.Text;
using System.Text.Json;
using StabilityTools.Dashboard.Data;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// The Server-Sent-Events frames every stream sends, each serialised once and shared: the latest
/// <c>training</c>, <c>processes</c>, <c>market</c> and <c>resources</c> views (one frame per change of the cache,
/// built by the first stream that needs it), and the latest <c>metrics</c> and <c>events</c> deltas (shared by every
/// stream that asks for the same range, which is every stream that keeps up). A frame is an immutable byte array, so
/// however many streams send it, and however slowly, it exists once in memory.
/// </summary>
internal sealed class StreamFrames(DashboardViews views, RunViews runs)
{
    /// <summary>Records or events per delta; more means the client refetches.</summary>
    public const int MaxDelta = 2_000;

    private readonly Dictionary<DashboardTopic, ViewSlot> _views = new()
    {
        [DashboardTopic.Training] = new ViewSlot(),
        [DashboardTopic.Processes] = new ViewSlot(),
        [DashboardTopic.Market] = new ViewSlot(),
        [DashboardTopic.Resources] = new ViewSlot(),
        [DashboardTopic.Runs] = new ViewSlot(),
    };

    private readonly Lock _deltaGate = new();
    private (long Generation, long From, long NowGeneration, long Total, byte[] Frame)? _metrics;
    private (long From, long Last, byte[] Frame)? _events;

    /// <summary>The keep-alive sent after 15 s of quiet (a named event, so the page can see the stream is alive).</summary>
    public static readonly byte[] Ping = Frame("ping", new { });

    /// <summary>The topics whose whole view a stream sends.</summary>
    public const DashboardTopic ViewTopics = DashboardTopic.Training | DashboardTopic.Processes | DashboardTopic.Market | DashboardTopic.Resources | DashboardTopic.Runs;

    /// <summary>The latest frame of a view topic (one flag of <see cref="ViewTopics"/>).</summary>
    public byte[] View(DashboardTopic topic)
    {
        var slot = _views[topic];
        var version = views.Data.Version(topic);
        if (slot.Current is { } cached && cached.Version >= version)
        {
            return cached.Frame;
        }

        // One serialisation per version: the streams that arrive meanwhile wait for it instead of making their own.
        lock (slot.Gate)
        {
            if (slot.Current is { } again && again.Version >= version)
            {
                return again.Frame;
            }

            var frame = topic switch
            {
                DashboardTopic.Training => Frame("training", views.Training(views.Data.Time.GetUtcNow())),
                DashboardTopic.Processes => Frame("processes", views.Processes()),
                DashboardTopic.Market => Frame("market", views.Market()),
                DashboardTopic.Resources => Frame("resources", views.Resources()),
                // The runs table as a page first shows it (newest first): a run that starts appears without a reload.
                DashboardTopic.Runs => Frame("runs", runs.List(new Engine.Training.RunFilter(), "created", descending: true, 0, 200)),
                _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "not a view topic"),
            };
            slot.Current = new CachedFrame(version, frame);
            return frame;
        }
    }

    /// <summary>The metrics delta after <paramref name="count"/> records of history generation <paramref name="generation"/>, with the position to ask from next time.</summary>
    public (byte[] Frame, long Generation, long Count) Metrics(long generation, long count)
    {
        var history = views.Data.Metrics;
        var nowGeneration = history.Generation;
        var total = history.Count;
        lock (_deltaGate)
        {
            if (_metrics is { } m && m.Generation == generation && m.From == count && m.NowGeneration == nowGeneration && m.Total == total)
            {
                return (m.Frame, nowGeneration, total);
            }

            var records = nowGeneration == generation && total - count <= MaxDelta ? history.After(count, MaxDelta) : null;
            var frame = Frame("metrics", new MetricsDelta(records is null, total, records ?? []));
            _metrics = (generation, count, nowGeneration, total, frame);
            return (frame, nowGeneration, total);
        }
    }

    /// <summary>The events after <paramref name="seq"/>, with the sequence number to ask from next time.</summary>
    public (byte[] Frame, long LastSeq) Events(long seq)
    {
        var data = views.Data;
        lock (_deltaGate)
        {
            var last = data.Events.LastSeq;
            if (_events is { } e && e.From == seq && e.Last == last)
            {
                return (e.Frame, last);
            }

            var events = data.Events.After(seq, MaxDelta);
            last = data.Events.LastSeq;
            var frame = Frame("events", new EventsView(last, data.SkippedEventLines, events.Select(DashboardViews.Item).ToList()));
            _events = (seq, last, frame);
            return (frame, last);
        }
    }

    /// <summary>One SSE message: <c>event: NAME</c>, <c>data: JSON</c> (single-line: the status JSON is never indented), a blank line.</summary>
    public static byte[] Frame<T>(string name, T value, TimeSpan? retry = null)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, StatusJson.Options);
        var head = Encoding.UTF8.GetBytes((retry is { } r ? $"retry: {(long)r.TotalMilliseconds}\n" : "") + $"event: {name}\ndata: ");
        var frame = new byte[head.Length + json.Length + 2];
        head.CopyTo(frame, 0);
        json.CopyTo(frame, head.Length);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        return frame;
    }

    private sealed record CachedFrame(long Version, byte[] Frame);

    private sealed class ViewSlot
    {
        public Lock Gate { get; } = new();

        public CachedFrame? Current
        {
            get => Volatile.Read(ref field);
            set => Volatile.Write(ref field, value);
        }
    }
}
