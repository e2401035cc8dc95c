using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>Get-StabilityReport's figures (issue #24), from a generated week of events whose counts are known.</summary>
public sealed class ServiceReportsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Week = T0.AddDays(7);

    private static StabilityEvent E(string service, string type, TimeSpan at, params (string Key, string Value)[] data) => new()
    {
        Service = service, Type = type, Time = T0 + at, Data = data.Length == 0 ? null : data.ToDictionary(d => d.Key, d => d.Value),
    };

    private static TimeSpan D(double days) => TimeSpan.FromDays(days);

    private static readonly TimeSpan M = TimeSpan.FromMinutes(1), H = TimeSpan.FromHours(1);

    /// <summary>A week of one trainer: a crash, a hang, a limit, a fatal episode, a requested stop, a completion.</summary>
    private static IEnumerable<StabilityEvent> TrainerWeek() =>
    [
        E("trainer", "started", -H),
        E("trainer", "exited", D(1), ("exit_code", "1"), ("signal", "")),
        E("trainer", "restarting", D(1)),
        E("trainer", "started", D(1) + 10 * M),
        E("trainer", "hang_detected", D(2)),
        E("trainer", "exited", D(2) + M, ("exit_code", ""), ("signal", "9")),
        E("trainer", "restarting", D(2) + M),
        E("trainer", "started", D(2) + 3 * M),
        E("trainer", "limit_exceeded", D(3)),
        E("trainer", "exited", D(4), ("exit_code", "3"), ("signal", "")),
        E("trainer", "fatal", D(4) + TimeSpan.FromSeconds(1), ("exit_code", "3")),
        E("trainer", "started", D(4) + 2 * H),
        E("trainer", "stopped", D(5)),
        E("trainer", "started", D(5) + 6 * H),
        E("trainer", "exited", D(6), ("exit_code", "0"), ("signal", "")),
        E("trainer", "completed", D(6)),
        E("trainer", "started", D(8)),
    ];

    [Fact(Timeout = 120_000)]
    public void A_generated_week_gives_exactly_the_known_figures()
    {
        var report = Assert.Single(ServiceReports.Build(TrainerWeek(), T0, Week));

        Assert.Equal("trainer", report.Service);
        Assert.Equal(24 * H + (23 * H + 51 * M) + (47 * H + 57 * M) + 22 * H + 18 * H, report.Uptime);
        Assert.Equal(10 * M + 2 * M + 2 * H, report.Downtime);
        Assert.Equal(4, report.Starts);
        Assert.Equal(2, report.Restarts);
        Assert.Equal(3, report.Failures);
        Assert.Equal(1, report.FatalEpisodes);
        Assert.Equal(1, report.Hangs);
        Assert.Equal(1, report.LimitEvents);
        Assert.Equal(report.Uptime / 3, report.MeanTimeBetweenFailures);
        Assert.Equal(2 * H, report.LongestOutage);
        Assert.Equal(T0 + D(4), report.LongestOutageStart);
        Assert.Equal(report.Uptime / (report.Uptime + report.Downtime), report.UptimeShare);
    }

    [Fact(Timeout = 120_000)]
    public void Events_before_the_window_set_the_state_a_service_enters_it_in()
    {
        var reports = ServiceReports.Build([E("dash", "started", -D(2)), E("idle", "started", -D(3)), E("idle", "stopped", -D(2))], T0, Week);

        var dash = reports.Single(r => r.Service == "dash");
        Assert.Equal(D(7), dash.Uptime);
        Assert.Equal(1.0, dash.UptimeShare);
        Assert.Equal(0, dash.Starts);
        Assert.Null(dash.MeanTimeBetweenFailures);
        var idle = reports.Single(r => r.Service == "idle");
        Assert.Equal(TimeSpan.Zero, idle.Uptime + idle.Downtime);
        Assert.Null(idle.UptimeShare);
    }

    [Fact(Timeout = 120_000)]
    public void A_launch_that_failed_is_a_failure_and_down_until_the_window_ends()
    {
        var report = Assert.Single(ServiceReports.Build([E("broken", "fatal", D(6))], T0, Week));

        Assert.Equal(1, report.Failures);
        Assert.Equal(1, report.FatalEpisodes);
        Assert.Equal(D(1), report.Downtime);
        Assert.Equal(D(1), report.LongestOutage);
    }

    [Fact(Timeout = 120_000)]
    public void A_clean_exit_that_is_restarted_is_downtime_but_not_a_failure()
    {
        var report = Assert.Single(ServiceReports.Build(
            [E("feed", "started", D(1)), E("feed", "exited", D(2), ("exit_code", "0")), E("feed", "restarting", D(2)), E("feed", "started", D(2) + 5 * M)], T0, Week));

        Assert.Equal(0, report.Failures);
        Assert.Equal(1, report.Restarts);
        Assert.Equal(5 * M, report.Downtime);
        Assert.Equal(D(1) + (D(5) - 5 * M), report.Uptime);
    }

    [Fact(Timeout = 120_000)]
    public void One_service_is_reported_alone_and_a_window_that_ends_before_it_starts_is_refused()
    {
        var events = TrainerWeek().Append(E("dash", "started", D(1))).ToList();

        Assert.Equal(["dash"], ServiceReports.Build(events, T0, Week, "dash").Select(r => r.Service));
        Assert.Equal(["dash", "trainer"], ServiceReports.Build(events, T0, Week).Select(r => r.Service));
        Assert.Throws<ArgumentException>(() => ServiceReports.Build(events, Week, T0));
    }

    [Fact(Timeout = 120_000)]
    public void Markdown_and_HTML_carry_every_service_with_names_escaped()
    {
        var reports = ServiceReports.Build([.. TrainerWeek(), E("<b>x|y</b>", "started", D(1))], T0, Week);

        var markdown = ServiceReports.ToMarkdown(reports, T0, Week);
        Assert.Contains("| trainer | 98.41 % | 5d 15h 48m | 2h 12m 0s | 4 | 2 | 3 | 1 | 1 | 1 | 1d 21h 16m | 2h 0m 0s |", markdown, StringComparison.Ordinal);
        Assert.Contains("<b>x\\|y</b>", markdown, StringComparison.Ordinal);
        var html = ServiceReports.ToHtml(reports, T0, Week);
        Assert.Contains("<td>&lt;b&gt;x|y&lt;/b&gt;</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }
}
