using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>
/// How one service fared over a window, from its events alone (issue #24, <c>Get-StabilityReport</c>): how long it ran
/// and was down, how often it was started, restarted, failed, went fatal, hung or broke a limit, the mean time between
/// failures and its longest outage.
/// </summary>
/// <remarks>
/// Down is the time the service should have run but did not: from a failure (an exit with a non-zero code or a signal,
/// a launch that failed) to its next start, through backoff and a fatal state alike. Time after a requested stop or a
/// completion is neither up nor down: nobody wanted it running.
/// </remarks>
public sealed record ServiceReport
{
    /// <summary>The service.</summary>
    public required string Service { get; init; }

    /// <summary>The window's start.</summary>
    public DateTimeOffset Since { get; init; }

    /// <summary>The window's end.</summary>
    public DateTimeOffset Until { get; init; }

    /// <summary>Time the service ran within the window.</summary>
    public TimeSpan Uptime { get; init; }

    /// <summary>Time it should have run but did not (after a failure, until its next start).</summary>
    public TimeSpan Downtime { get; init; }

    /// <summary>Uptime over uptime plus downtime; null when it was neither (never wanted running in the window).</summary>
    public double? UptimeShare => Uptime + Downtime is { Ticks: > 0 } wanted ? Uptime / wanted : null;

    /// <summary>Service processes started (first starts and restarts).</summary>
    public int Starts { get; init; }

    /// <summary>Restarts the supervisor scheduled (<c>restarting</c> events).</summary>
    public int Restarts { get; init; }

    /// <summary>Failures: exits with a non-zero code or a signal, and launches that failed.</summary>
    public int Failures { get; init; }

    /// <summary>Times the supervisor gave up (<c>fatal</c> events).</summary>
    public int FatalEpisodes { get; init; }

    /// <summary>Hangs detected.</summary>
    public int Hangs { get; init; }

    /// <summary>Limit or quota violations (<c>limit_exceeded</c> events).</summary>
    public int LimitEvents { get; init; }

    /// <summary>Mean time between failures: uptime over failures; null without a failure.</summary>
    public TimeSpan? MeanTimeBetweenFailures => Failures > 0 ? Uptime / Failures : null;

    /// <summary>The longest stretch of downtime (clipped to the window); zero when there was none.</summary>
    public TimeSpan LongestOutage { get; init; }

    /// <summary>When the longest outage began; null when there was none.</summary>
    public DateTimeOffset? LongestOutageStart { get; init; }
}
