using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Telemetry;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// <c>/api/stream</c>: Server-Sent Events. On connect a <c>hello</c> event, then the current training,
/// processes, market and resources views, then one event per changed topic as the cache sees it change
/// (<c>training</c>, <c>processes</c>, <c>market</c>, <c>resources</c> with the full view; <c>metrics</c> and
/// <c>events</c> with only what is new, or <c>reset</c> when the client must refetch), and a <c>ping</c>
/// after 15 s of quiet so proxies keep the connection. Streams are capped (503 beyond the cap).
/// </summary>
internal static class StreamEndpoint
{
    /// <summary>Records or events per push; more means the client refetches.</summary>
    private const int MaxDelta = 2_000;

    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static IResult Open(HttpContext context, DashboardViews views, RequestStats stats)
    {
        if (!stats.TryOpenStream(views.Data.Options.MaxStreamClients))
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many streams",
                detail: $"This dashboard serves at most {views.Data.Options.MaxStreamClients} streams; the page falls back to polling.");
        }

        // Disposed with the request however it ends, so a slot is never leaked.
        context.Response.RegisterForDispose(new Slot(stats));
        return TypedResults.ServerSentEvents(Events(views, context.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<string>> Events(DashboardViews views, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var data = views.Data;
        using var subscription = data.Subscribe();
        var generation = data.Metrics.Generation;
        var metricsCount = data.Metrics.Count;
        var eventsSeq = data.Events.LastSeq;

        yield return new SseItem<string>(Serialize(new { server_time = data.Time.GetUtcNow(), metrics_total = metricsCount, last_event_seq = eventsSeq }), "hello")
        {
            ReconnectionInterval = TimeSpan.FromSeconds(2),
        };
        foreach (var item in Views(views, DashboardTopic.Training | DashboardTopic.Processes | DashboardTopic.Market | DashboardTopic.Resources))
        {
            yield return item;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var topics = await Wait(subscription, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (topics == DashboardTopic.None)
            {
                yield return new SseItem<string>("{}", "ping");
                continue;
            }

            foreach (var item in Views(views, topics))
            {
                yield return item;
            }

            if (topics.HasFlag(DashboardTopic.Metrics))
            {
                var nowGeneration = data.Metrics.Generation;
                var total = data.Metrics.Count;
                var records = nowGeneration == generation && total - metricsCount <= MaxDelta ? data.Metrics.After(metricsCount, MaxDelta) : null;
                generation = nowGeneration;
                metricsCount = total;
                yield return new SseItem<string>(Serialize(new MetricsDelta(records is null, total, records ?? [])), "metrics");
            }

            if (topics.HasFlag(DashboardTopic.Events))
            {
                var events = data.Events.After(eventsSeq, MaxDelta);
                eventsSeq = data.Events.LastSeq;
                yield return new SseItem<string>(Serialize(new EventsView(eventsSeq, data.SkippedEventLines, events.Select(DashboardViews.Item).ToList())), "events");
            }
        }
    }

    private static IEnumerable<SseItem<string>> Views(DashboardViews views, DashboardTopic topics)
    {
        if (topics.HasFlag(DashboardTopic.Training))
        {
            yield return new SseItem<string>(Serialize(views.Training(views.Data.Time.GetUtcNow())), "training");
        }

        if (topics.HasFlag(DashboardTopic.Processes))
        {
            yield return new SseItem<string>(Serialize(views.Processes()), "processes");
        }

        if (topics.HasFlag(DashboardTopic.Market))
        {
            yield return new SseItem<string>(Serialize(views.Market()), "market");
        }

        if (topics.HasFlag(DashboardTopic.Resources))
        {
            yield return new SseItem<string>(Serialize(views.Resources()), "resources");
        }
    }

    private static async Task<DashboardTopic> Wait(ChangeSubscription subscription, CancellationToken cancellationToken)
    {
        try
        {
            return await subscription.WaitAsync(KeepAlive, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away: end the stream quietly.
            return DashboardTopic.None;
        }
    }

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, StatusJson.Options);

    private sealed class Slot(RequestStats stats) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                stats.CloseStream();
            }
        }
    }
}
