using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Rates and trends of one service (issue #24, on <c>Get-ProcessStatus</c>): its restarts, failures, hangs and limit
/// events over the last hour, 24 hours and 7 days before <see cref="At"/>, and whether each is rising or falling (the
/// last hour against the hour before it). Counted by <see cref="ServiceReports"/> from <c>events.jsonl</c>.
/// </summary>
/// <remarks>
/// Each window includes its start and its end (<see cref="At"/>); the hour before is <c>[At − 2 h, At − 1 h)</c>, so
/// an event exactly one hour ago counts in the last hour only.
/// </remarks>
public sealed record ServiceRates
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>The service.</summary>
    public required string Service { get; init; }

    /// <summary>The end of every window: when the rates were computed.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Counts of the last hour.</summary>
    public ServiceEventCounts LastHour { get; init; } = ServiceEventCounts.None;

    /// <summary>Counts of the hour before the last, which <see cref="LastHour"/> is compared with.</summary>
    public ServiceEventCounts PreviousHour { get; init; } = ServiceEventCounts.None;

    /// <summary>Counts of the last 24 hours.</summary>
    public ServiceEventCounts Last24Hours { get; init; } = ServiceEventCounts.None;

    /// <summary>Counts of the last 7 days.</summary>
    public ServiceEventCounts Last7Days { get; init; } = ServiceEventCounts.None;

    /// <summary>Restarts of the last hour against the hour before.</summary>
    public ServiceTrend RestartsTrend => Compare(LastHour.Restarts, PreviousHour.Restarts);

    /// <summary>Failures of the last hour against the hour before.</summary>
    public ServiceTrend FailuresTrend => Compare(LastHour.Failures, PreviousHour.Failures);

    /// <summary>Hangs of the last hour against the hour before.</summary>
    public ServiceTrend HangsTrend => Compare(LastHour.Hangs, PreviousHour.Hangs);

    /// <summary>Limit events of the last hour against the hour before.</summary>
    public ServiceTrend LimitEventsTrend => Compare(LastHour.LimitEvents, PreviousHour.LimitEvents);

    /// <summary>
    /// The rates of every service in <paramref name="events"/> and of every one in <paramref name="services"/> (those
    /// without events get zeros), keyed by name. One pass over the events per window, however many services.
    /// </summary>
    /// <param name="events">Events of any services, in any order (all of <c>events.jsonl</c>, read once).</param>
    /// <param name="at">The end of the windows: now.</param>
    /// <param name="services">Services that must have an entry even without events.</param>
    public static IReadOnlyDictionary<string, ServiceRates> Build(IEnumerable<StabilityEvent> events, DateTimeOffset at, IEnumerable<string>? services = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var all = events as IReadOnlyCollection<StabilityEvent> ?? [.. events];
        static Dictionary<string, ServiceReport> Window(IReadOnlyCollection<StabilityEvent> all, DateTimeOffset since, DateTimeOffset until) =>
            ServiceReports.Build(all, since, until).ToDictionary(r => r.Service, StringComparer.Ordinal);

        var lastHour = Window(all, at - Hour, at);
        // One tick short of the last hour's start, so no event counts in both hours.
        var previousHour = Window(all, at - 2 * Hour, at - Hour - TimeSpan.FromTicks(1));
        var lastDay = Window(all, at - 24 * Hour, at);
        var lastWeek = Window(all, at - TimeSpan.FromDays(7), at);

        var rates = new Dictionary<string, ServiceRates>(StringComparer.Ordinal);
        foreach (var name in lastWeek.Keys.Concat(lastHour.Keys).Concat(services ?? []).Distinct(StringComparer.Ordinal))
        {
            rates[name] = new ServiceRates
            {
                Service = name, At = at,
                LastHour = ServiceEventCounts.From(lastHour.GetValueOrDefault(name)),
                PreviousHour = ServiceEventCounts.From(previousHour.GetValueOrDefault(name)),
                Last24Hours = ServiceEventCounts.From(lastDay.GetValueOrDefault(name)),
                Last7Days = ServiceEventCounts.From(lastWeek.GetValueOrDefault(name)),
            };
        }

        return rates;
    }

    private static ServiceTrend Compare(int last, int before) =>
        last > before ? ServiceTrend.Rising : last < before ? ServiceTrend.Falling : ServiceTrend.Steady;
}
