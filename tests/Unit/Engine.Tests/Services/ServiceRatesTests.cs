using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>Get-ProcessStatus's rates and trends (issue #24), from a generated event history whose counts are known.</summary>
public sealed class ServiceRatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 8, 12, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan M = TimeSpan.FromMinutes(1), H = TimeSpan.FromHours(1), D = TimeSpan.FromDays(1);

    private static StabilityEvent E(string service, string type, TimeSpan ago, params (string Key, string Value)[] data) => new()
    {
        Service = service, Type = type, Time = Now - ago, Data = data.Length == 0 ? null : data.ToDictionary(d => d.Key, d => d.Value),
    };

    /// <summary>A crash as a supervisor records it: a failed exit, the restart it schedules, the new start.</summary>
    private static IEnumerable<StabilityEvent> Crash(string service, TimeSpan ago) =>
    [
        E(service, "exited", ago, ("exit_code", "1"), ("signal", "")),
        E(service, "restarting", ago),
        E(service, "started", ago - TimeSpan.FromSeconds(1)),
    ];

    /// <summary>
    /// Crashes: 3 in the last hour, 1 in the hour before, 2 more in the day, 4 more in the week, 5 older. Hangs: 2 in the
    /// hour before, 1 more in the week. Limit events: 1 in the last hour, 1 in the hour before.
    /// </summary>
    private static List<StabilityEvent> History()
    {
        var events = new List<StabilityEvent> { E("trainer", "started", 30 * D) };
        foreach (var ago in new[] { 10 * M, 20 * M, 30 * M, 90 * M, 5 * H, 20 * H, 2 * D, 3 * D, 4 * D, 6 * D, 8 * D, 9 * D, 10 * D, 11 * D, 12 * D })
        {
            events.AddRange(Crash("trainer", ago));
        }

        events.AddRange([E("trainer", "hang_detected", 100 * M), E("trainer", "hang_detected", 110 * M), E("trainer", "hang_detected", 3 * D + H)]);
        events.AddRange([E("trainer", "limit_exceeded", 15 * M), E("trainer", "limit_exceeded", 75 * M)]);
        // A launch that failed: a failure and a fatal episode, but no restart.
        events.Add(E("broken", "fatal", 5 * M));
        // Any order: the supervisor's appends and a caller's audit records interleave.
        events.Reverse();
        return events;
    }

    [Fact(Timeout = 120_000)]
    public void A_generated_history_gives_exactly_the_known_counts_for_each_window()
    {
        var trainer = ServiceRates.Build(History(), Now)["trainer"];

        Assert.Equal(Now, trainer.At);
        Assert.Equal(new ServiceEventCounts { Restarts = 3, Failures = 3, Hangs = 0, LimitEvents = 1 }, trainer.LastHour);
        Assert.Equal(new ServiceEventCounts { Restarts = 1, Failures = 1, Hangs = 2, LimitEvents = 1 }, trainer.PreviousHour);
        Assert.Equal(new ServiceEventCounts { Restarts = 6, Failures = 6, Hangs = 2, LimitEvents = 2 }, trainer.Last24Hours);
        Assert.Equal(new ServiceEventCounts { Restarts = 10, Failures = 10, Hangs = 3, LimitEvents = 2 }, trainer.Last7Days);
    }

    [Fact(Timeout = 120_000)]
    public void Trends_compare_the_last_hour_with_the_hour_before()
    {
        var trainer = ServiceRates.Build(History(), Now)["trainer"];

        Assert.Equal(ServiceTrend.Rising, trainer.RestartsTrend);
        Assert.Equal(ServiceTrend.Rising, trainer.FailuresTrend);
        Assert.Equal(ServiceTrend.Falling, trainer.HangsTrend);
        Assert.Equal(ServiceTrend.Steady, trainer.LimitEventsTrend);
    }

    [Fact(Timeout = 120_000)]
    public void A_launch_that_failed_counts_as_a_failure_as_the_report_counts_it()
    {
        var rates = ServiceRates.Build(History(), Now);

        var broken = rates["broken"];
        Assert.Equal(new ServiceEventCounts { Failures = 1 }, broken.LastHour);
        Assert.Equal(ServiceTrend.Steady, broken.RestartsTrend);
        Assert.Equal(ServiceTrend.Rising, broken.FailuresTrend);
        var report = ServiceReports.Build(History(), Now - TimeSpan.FromDays(7), Now).Single(r => r.Service == "trainer");
        Assert.Equal(report.Failures, rates["trainer"].Last7Days.Failures);
        Assert.Equal(report.Restarts, rates["trainer"].Last7Days.Restarts);
    }

    [Fact(Timeout = 120_000)]
    public void An_event_exactly_one_hour_ago_counts_in_the_last_hour_only()
    {
        var rates = ServiceRates.Build([E("dash", "started", 3 * H), E("dash", "restarting", H)], Now);

        Assert.Equal(1, rates["dash"].LastHour.Restarts);
        Assert.Equal(0, rates["dash"].PreviousHour.Restarts);
    }

    [Fact(Timeout = 120_000)]
    public void A_service_without_events_has_zeros_and_steady_trends()
    {
        var rates = ServiceRates.Build(History(), Now, ["quiet", "trainer"]);

        Assert.Equal(["broken", "quiet", "trainer"], rates.Keys.Order(StringComparer.Ordinal));
        var quiet = rates["quiet"];
        Assert.Equal(ServiceEventCounts.None, quiet.Last7Days);
        Assert.Equal(ServiceTrend.Steady, quiet.RestartsTrend);
    }

    [Fact(Timeout = 120_000)]
    public void A_service_info_shows_the_headline_rates_of_its_service()
    {
        var rates = ServiceRates.Build(History(), Now, ["quiet"]);

        var trainer = ProcessManager.WithRates(new ServiceInfo { Name = "trainer" }, rates);
        Assert.Equal((3, 6, 10, ServiceTrend.Rising), (trainer.RestartsLastHour, trainer.RestartsLast24Hours, trainer.RestartsLast7Days, trainer.RestartsTrend));
        Assert.Equal((3, 6, 10, ServiceTrend.Rising), (trainer.FailuresLastHour, trainer.FailuresLast24Hours, trainer.FailuresLast7Days, trainer.FailuresTrend));
        var unknown = ProcessManager.WithRates(new ServiceInfo { Name = "new" }, rates);
        Assert.Equal(0, unknown.RestartsLast7Days);
        Assert.Equal("new", unknown.Rates!.Service);
    }
}
