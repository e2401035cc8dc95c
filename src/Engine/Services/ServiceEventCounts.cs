namespace StabilityTools.Engine.Services;

/// <summary>
/// What went wrong with one service in one window, counted exactly as <see cref="ServiceReports"/> counts it (so
/// <c>Get-ProcessStatus</c> and <c>Get-StabilityReport</c> never disagree).
/// </summary>
public sealed record ServiceEventCounts
{
    /// <summary>No events at all.</summary>
    public static ServiceEventCounts None { get; } = new();

    /// <summary>Restarts the supervisor scheduled (<c>restarting</c> events).</summary>
    public int Restarts { get; init; }

    /// <summary>Failures: exits with a non-zero code or a signal, and launches that failed.</summary>
    public int Failures { get; init; }

    /// <summary>Hangs detected.</summary>
    public int Hangs { get; init; }

    /// <summary>Limit or quota violations (<c>limit_exceeded</c> events).</summary>
    public int LimitEvents { get; init; }

    /// <summary>The counts of a report; <see cref="None"/> for a service without one.</summary>
    public static ServiceEventCounts From(ServiceReport? report) => report is null
        ? None
        : new ServiceEventCounts { Restarts = report.Restarts, Failures = report.Failures, Hangs = report.Hangs, LimitEvents = report.LimitEvents };
}
