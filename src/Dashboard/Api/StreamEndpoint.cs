using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Telemetry;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// <c>/api/stream</c>: Server-Sent Events. On connect a <c>hello</c> event, then the current training,
/// processes, market, resources and runs views, then one event per changed topic as the cache sees it change
/// (<c>training</c>, <c>processes</c>, <c>market</c>, <c>resources</c>, <c>runs</c> with the full view; <c>metrics</c> and
/// <c>events</c> with only what is new, or <c>reset</c> when the client must refetch), and a <c>ping</c>
/// after 15 s of quiet so proxies keep the connection. Streams are capped (503 beyond the cap).
/// </summary>
/// <remarks>
/// Bounded under slow or hostile readers (nginx's <c>send_timeout</c>): every frame is shared (<see cref="StreamFrames"/>);
/// a stream's queue is its <see cref="ChangeSubscription"/>, which holds only which topics changed, so when the stream
/// gets to send it sends the <em>latest</em> snapshot of each; frames go out in 16 KiB slices, each waiting for the
/// client to take the previous ones, so Kestrel buffers at most its 64 KiB per stream; and a client that takes longer
/// than <see cref="Hosting.DashboardOptions.StreamSendTimeout"/> for one frame is disconnected (the page reconnects
/// and resyncs from <c>hello</c>).
/// </remarks>
internal static class StreamEndpoint
{
    private const int SliceBytes = 16 * 1024;

    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static IResult Open(HttpContext context, DashboardViews views, StreamFrames frames, RequestStats stats)
    {
        if (!stats.TryOpenStream(views.Data.Options.MaxStreamClients))
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many streams",
                detail: $"This dashboard serves at most {views.Data.Options.MaxStreamClients} streams; the page falls back to polling.");
        }

        // Disposed with the request however it ends, so a slot is never leaked.
        context.Response.RegisterForDispose(new Slot(stats));
        return new StreamResult(views, frames, stats);
    }

    private sealed class StreamResult(DashboardViews views, StreamFrames frames, RequestStats stats) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache,no-store";
            response.Headers.Pragma = "no-cache";
            response.Headers.ContentEncoding = "identity";
            context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

            var aborted = context.RequestAborted;
            var data = views.Data;
            using var subscription = data.Subscribe();
            var generation = data.Metrics.Generation;
            var metricsCount = data.Metrics.Count;
            var eventsSeq = data.Events.LastSeq;
            var sender = new Sender(context, data.Options.StreamSendTimeout, stats);
            try
            {
                var hello = StreamFrames.Frame("hello", new { server_time = data.Time.GetUtcNow(), metrics_total = metricsCount, last_event_seq = eventsSeq }, TimeSpan.FromSeconds(2));
                if (!await sender.SendAsync(hello).ConfigureAwait(false) || !await SendViewsAsync(sender, StreamFrames.ViewTopics).ConfigureAwait(false))
                {
                    return;
                }

                while (!aborted.IsCancellationRequested)
                {
                    var topics = await subscription.WaitAsync(KeepAlive, aborted).ConfigureAwait(false);
                    if (aborted.IsCancellationRequested)
                    {
                        return;
                    }

                    if (topics == DashboardTopic.None)
                    {
                        if (!await sender.SendAsync(StreamFrames.Ping).ConfigureAwait(false))
                        {
                            return;
                        }

                        continue;
                    }

                    if (!await SendViewsAsync(sender, topics & StreamFrames.ViewTopics).ConfigureAwait(false))
                    {
                        return;
                    }

                    if (topics.HasFlag(DashboardTopic.Metrics))
                    {
                        (var frame, generation, metricsCount) = frames.Metrics(generation, metricsCount);
                        if (!await sender.SendAsync(frame).ConfigureAwait(false))
                        {
                            return;
                        }
                    }

                    if (topics.HasFlag(DashboardTopic.Events))
                    {
                        (var frame, eventsSeq) = frames.Events(eventsSeq);
                        if (!await sender.SendAsync(frame).ConfigureAwait(false))
                        {
                            return;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client went away: end the stream quietly.
            }
        }

        private async Task<bool> SendViewsAsync(Sender sender, DashboardTopic topics)
        {
            foreach (var topic in new[] { DashboardTopic.Training, DashboardTopic.Processes, DashboardTopic.Market, DashboardTopic.Resources, DashboardTopic.Runs })
            {
                // Fetched at send time: a stream that fell behind sends the newest snapshot, never a backlog.
                if (topics.HasFlag(topic) && !await sender.SendAsync(frames.View(topic)).ConfigureAwait(false))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Writes frames in slices under the send timeout; false (and the connection aborted) when the client was too slow or left.</summary>
    private sealed class Sender(HttpContext context, TimeSpan sendTimeout, RequestStats stats)
    {
        public async Task<bool> SendAsync(byte[] frame)
        {
            var writer = context.Response.BodyWriter;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(sendTimeout);
            try
            {
                for (var offset = 0; offset < frame.Length; offset += SliceBytes)
                {
                    var slice = frame.AsMemory(offset, Math.Min(SliceBytes, frame.Length - offset));
                    var result = await writer.WriteAsync(slice, timeout.Token).ConfigureAwait(false);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        return false;
                    }
                }

                return true;
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                // Too far behind: drop the client rather than hold its backlog.
                stats.SlowStreamClosed();
                context.Abort();
                return false;
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                return false;
            }
        }
    }

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
