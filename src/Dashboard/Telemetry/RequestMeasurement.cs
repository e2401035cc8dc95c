using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace StabilityTools.Dashboard.Telemetry;

/// <summary>Counts requests, open connections and server errors, and times every request except the long-lived stream.</summary>
internal sealed class RequestMeasurement(RequestDelegate next, RequestStats stats)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        stats.RequestStarted();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var timed = !context.Request.Path.StartsWithSegments("/api/stream", StringComparison.Ordinal);
            stats.RequestEnded(context.Response.StatusCode, timed ? Stopwatch.GetElapsedTime(started).TotalMilliseconds : null);
        }
    }
}
