using System.Globalization;
using System.Text;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Builds <see cref="ServiceReport"/>s by replaying <c>events.jsonl</c>: each service's events in time order move it
/// between up, down and off (<see cref="ServiceLifecycle"/>, see <see cref="ServiceReport"/>); events before the window set the state it starts in.
/// Writes them as Markdown or HTML for people.
/// </summary>
public static class ServiceReports
{
    /// <summary>One report per service that has events up to <paramref name="until"/>, by name.</summary>
    /// <param name="events">Events of any services, in any order.</param>
    /// <param name="since">The window's start.</param>
    /// <param name="until">The window's end.</param>
    /// <param name="service">Only this service; null for all.</param>
    public static IReadOnlyList<ServiceReport> Build(IEnumerable<StabilityEvent> events, DateTimeOffset since, DateTimeOffset until, string? service = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (until < since)
        {
            throw new ArgumentException($"The window ends ({until:O}) before it starts ({since:O}).", nameof(until));
        }

        return [.. events
            .Where(e => e.Service is { Length: > 0 } && (service is null || string.Equals(e.Service, service, StringComparison.Ordinal)) && e.Time <= until)
            .GroupBy(e => e.Service!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Replay(g.Key, [.. g.OrderBy(e => e.Time)], since, until))];
    }

    private static ServiceReport Replay(string service, IReadOnlyList<StabilityEvent> events, DateTimeOffset since, DateTimeOffset until)
    {
        var lifecycle = new ServiceLifecycle();
        var phaseStart = since;
        var (up, down, longest) = (TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        DateTimeOffset? longestStart = null;
        var (starts, restarts, failures, fatal, hangs, limits) = (0, 0, 0, 0, 0, 0);

        // Adds the time of `phase` up to `at`, clipped to the window (events before it only set the phase).
        void Close(ServicePhase phase, DateTimeOffset at)
        {
            var from = phaseStart < since ? since : phaseStart;
            var length = (at < since ? since : at) - from;
            if (phase == ServicePhase.Up)
            {
                up += length;
            }
            else if (phase == ServicePhase.Down)
            {
                down += length;
                if (length > longest)
                {
                    (longest, longestStart) = (length, from);
                }
            }
        }

        foreach (var e in events)
        {
            var before = lifecycle.Phase;
            var kinds = lifecycle.Observe(e);
            if (lifecycle.Phase != before)
            {
                // A change of phase; the same phase again (a fatal after the failed exit) goes on uninterrupted.
                Close(before, e.Time);
                phaseStart = e.Time;
            }

            if (e.Time < since)
            {
                continue;
            }

            starts += kinds.HasFlag(ServiceEventKinds.Start) ? 1 : 0;
            restarts += kinds.HasFlag(ServiceEventKinds.Restart) ? 1 : 0;
            failures += kinds.HasFlag(ServiceEventKinds.Failure) ? 1 : 0;
            fatal += kinds.HasFlag(ServiceEventKinds.Fatal) ? 1 : 0;
            hangs += kinds.HasFlag(ServiceEventKinds.Hang) ? 1 : 0;
            limits += kinds.HasFlag(ServiceEventKinds.LimitEvent) ? 1 : 0;
        }

        Close(lifecycle.Phase, until);
        return new ServiceReport
        {
            Service = service, Since = since, Until = until, Uptime = up, Downtime = down, Starts = starts, Restarts = restarts,
            Failures = failures, FatalEpisodes = fatal, Hangs = hangs, LimitEvents = limits, LongestOutage = longest, LongestOutageStart = longestStart,
        };
    }

    /// <summary>The reports as a Markdown document: a title with the window, one table row per service.</summary>
    public static string ToMarkdown(IReadOnlyList<ServiceReport> reports, DateTimeOffset since, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Service report, {since:yyyy-MM-dd HH:mm} to {until:yyyy-MM-dd HH:mm} UTC\n\n");
        text.Append("| service | uptime | up | down | starts | restarts | failures | fatal | hangs | limit events | MTBF | longest outage |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var r in reports)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"| {Escape(r.Service)} | {Share(r.UptimeShare)} | {Span(r.Uptime)} | {Span(r.Downtime)} | {r.Starts} | {r.Restarts} | {r.Failures} | {r.FatalEpisodes} | {r.Hangs} | {r.LimitEvents} | {Span(r.MeanTimeBetweenFailures)} | {Span(r.LongestOutage)} |\n");
        }

        if (reports.Count == 0)
        {
            text.Append("\nNo service has events in this window.\n");
        }

        return text.ToString();
    }

    /// <summary>The reports as a standalone HTML page (no scripts, no external resources), every value HTML-encoded.</summary>
    public static string ToHtml(IReadOnlyList<ServiceReport> reports, DateTimeOffset since, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(reports);
        static string H(string s) => System.Net.WebUtility.HtmlEncode(s);
        var title = string.Create(CultureInfo.InvariantCulture, $"Service report, {since:yyyy-MM-dd HH:mm} to {until:yyyy-MM-dd HH:mm} UTC");
        var text = new StringBuilder();
        text.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(H(title)).Append("</title>\n");
        text.Append("<style>body{font-family:sans-serif}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right}</style></head>\n<body>\n");
        text.Append("<h1>").Append(H(title)).Append("</h1>\n<table>\n<tr>");
        foreach (var header in new[] { "service", "uptime", "up", "down", "starts", "restarts", "failures", "fatal", "hangs", "limit events", "MTBF", "longest outage" })
        {
            text.Append("<th>").Append(H(header)).Append("</th>");
        }

        text.Append("</tr>\n");
        foreach (var r in reports)
        {
            text.Append("<tr><td>").Append(H(r.Service)).Append("</td>");
            foreach (var cell in new[] { Share(r.UptimeShare), Span(r.Uptime), Span(r.Downtime), Int(r.Starts), Int(r.Restarts), Int(r.Failures), Int(r.FatalEpisodes), Int(r.Hangs), Int(r.LimitEvents), Span(r.MeanTimeBetweenFailures), Span(r.LongestOutage) })
            {
                text.Append("<td class=\"n\">").Append(H(cell)).Append("</td>");
            }

            text.Append("</tr>\n");
        }

        text.Append("</table>\n</body></html>\n");
        return text.ToString();
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Share(double? share) => share is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s * 100:0.00} %") : "—";

    private static string Span(TimeSpan? span) => span switch
    {
        null => "—",
        { TotalDays: >= 1 } s => string.Create(CultureInfo.InvariantCulture, $"{(int)s.TotalDays}d {s.Hours}h {s.Minutes}m"),
        { TotalHours: >= 1 } s => string.Create(CultureInfo.InvariantCulture, $"{s.Hours}h {s.Minutes}m {s.Seconds}s"),
        { } s => string.Create(CultureInfo.InvariantCulture, $"{s.Minutes}m {s.Seconds}s"),
    };

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal);
}
