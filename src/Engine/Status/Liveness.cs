using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>
/// The one rule for whether a writer that should be beating is still there (docs/status-files.md:
/// staleness is judged at read time from the heartbeat, else <c>written_at</c>). The cmdlets, the dashboard and the
/// training monitor all ask here, so they never disagree about a service.
/// </summary>
public static class Liveness
{
    /// <summary>
    /// The least time a supervisor may go without rewriting its status before readers call it gone: 5 s. The bound
    /// actually applied is <see cref="SupervisorStaleBound"/>: this floor, or <see cref="StaleHeartbeats"/> of the
    /// heartbeat interval the supervisor announced, whichever is longer (15 s at the default 5 s heartbeat).
    /// </summary>
    public static readonly TimeSpan SupervisorStaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>Heartbeats a supervisor may miss before it counts as gone: 3, so one late write under load never does.</summary>
    public const int StaleHeartbeats = 3;

    /// <summary>The interval of a status that announces none: supervisors before <c>heartbeat_interval_ms</c> beat every second.</summary>
    public static readonly TimeSpan LegacyHeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long <paramref name="status"/>'s supervisor may stay silent before it counts as gone: <see cref="StaleHeartbeats"/>
    /// times the interval it announced, never less than <paramref name="floor"/> (the reader's own bound).
    /// </summary>
    public static TimeSpan SupervisorStaleBound(ProcessStatus status, TimeSpan floor)
    {
        var interval = status.HeartbeatIntervalMs is { } ms and > 0 ? TimeSpan.FromMilliseconds(ms) : LegacyHeartbeatInterval;
        var bound = interval * StaleHeartbeats;
        return bound > floor ? bound : floor;
    }

    /// <summary>How long a running trainer may go without a heartbeat before readers call it stale: 30 s.</summary>
    public static readonly TimeSpan TrainerStaleAfter = TimeSpan.FromSeconds(30);

    /// <summary>A state no supervisor leaves by itself: stopped, completed or fatal.</summary>
    public static bool IsFinal(ServiceState state) => state is ServiceState.Stopped or ServiceState.Completed or ServiceState.Fatal;

    /// <summary>
    /// True when <paramref name="status"/> was written by a supervisor of this host, other than
    /// <paramref name="self"/>, that is dead while its service was in no final state: it was killed (or crashed), not
    /// stopped. The next supervisor replaces it and says so (<c>supervisor_replaced</c>).
    /// </summary>
    public static bool SupervisorDiedAtItsPost(ProcessStatus? status, Platform.ProcessIdentity? self = null) =>
        status is { SupervisorPid: > 0, SupervisorStartTicks: > 0 }
        && (status.Host is null || status.Host == Environment.MachineName)
        && (status.SupervisorPid, status.SupervisorStartTicks) != (self?.Pid, self?.StartTicks)
        && !IsFinal(status.Status)
        && !new Platform.ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks).IsAlive();

    /// <summary>How old a supervisor's last heartbeat is at <paramref name="now"/> (its <c>written_at</c> when it has none).</summary>
    public static TimeSpan HeartbeatAge(ProcessStatus status, DateTimeOffset now) => now - (status.LastHeartbeat ?? status.WrittenAt);

    /// <summary>A status in a live state whose supervisor stopped rewriting it within its stale bound (<see cref="SupervisorStaleBound"/>, at least <paramref name="staleAfter"/>).</summary>
    public static bool IsStale(ProcessStatus status, DateTimeOffset now, TimeSpan staleAfter) =>
        !IsFinal(status.Status) && HeartbeatAge(status, now) > SupervisorStaleBound(status, staleAfter);

    /// <summary>How old a trainer's last heartbeat is at <paramref name="now"/> (its <c>written_at</c> when it has none).</summary>
    public static TimeSpan HeartbeatAge(TrainingStatus status, DateTimeOffset now) => now - (status.Heartbeat ?? status.WrittenAt);

    /// <summary>A trainer that says it runs but has not beaten its heartbeat within <paramref name="staleAfter"/>: hung or gone.</summary>
    public static bool IsStale(TrainingStatus status, DateTimeOffset now, TimeSpan staleAfter) =>
        (status.IsRunning || status.State is TrainerState.Running or TrainerState.Starting) && HeartbeatAge(status, now) > staleAfter;
}
