using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>What one event of a service counts as (<see cref="ServiceLifecycle.Observe"/>); none, one or several.</summary>
[Flags]
public enum ServiceEventKinds
{
    /// <summary>Counts as nothing.</summary>
    None = 0,

    /// <summary>A service process was started (<c>started</c>).</summary>
    Start = 1,

    /// <summary>The supervisor scheduled a restart (<c>restarting</c>).</summary>
    Restart = 2,

    /// <summary>An exit with a non-zero code or a signal, or a launch that failed.</summary>
    Failure = 4,

    /// <summary>The service went fatal.</summary>
    Fatal = 8,

    /// <summary>A hang was detected.</summary>
    Hang = 16,

    /// <summary>A limit or quota was crossed (<c>limit_exceeded</c>).</summary>
    LimitEvent = 32,
}

/// <summary>Whether a service was wanted running and ran (<see cref="Up"/>), was wanted but did not (<see cref="Down"/>), or was not wanted.</summary>
public enum ServicePhase
{
    /// <summary>Not wanted running: before its first start, after a stop or a completion.</summary>
    Off,

    /// <summary>Running.</summary>
    Up,

    /// <summary>Wanted running but not: after an exit or a failure, until its next start.</summary>
    Down,
}

/// <summary>
/// The one reading of a service's lifecycle events that <see cref="ServiceReports"/> (and through it
/// <c>Get-ProcessStatus</c>'s rates and <c>Get-StabilityReport</c>) and the dashboard's errors chart share: fed one
/// service's events in time order, it says what each counts as and which <see cref="ServicePhase"/> follows, so no two
/// views of the same events ever disagree. Not thread-safe.
/// </summary>
public sealed class ServiceLifecycle
{
    /// <summary>The phase after the events observed so far.</summary>
    public ServicePhase Phase { get; private set; }

    /// <summary>Moves past <paramref name="stabilityEvent"/> (the service's next, in time order) and says what it counts as.</summary>
    public ServiceEventKinds Observe(StabilityEvent stabilityEvent)
    {
        ArgumentNullException.ThrowIfNull(stabilityEvent);
        switch (stabilityEvent.Type)
        {
            case "started":
                Phase = ServicePhase.Up;
                return ServiceEventKinds.Start;
            case "exited":
                // A clean exit is down too, until a restart, unless a completion (off) follows.
                Phase = ServicePhase.Down;
                return Failed(stabilityEvent) ? ServiceEventKinds.Failure : ServiceEventKinds.None;
            case "completed" or "stopped" or "supervisor_signal":
                Phase = ServicePhase.Off;
                return ServiceEventKinds.None;
            case "fatal":
                // A launch that failed had no exit before its fatal: that is its failure. After an exit, fatal is not another.
                var launchFailed = Phase != ServicePhase.Down;
                Phase = ServicePhase.Down;
                return launchFailed ? ServiceEventKinds.Fatal | ServiceEventKinds.Failure : ServiceEventKinds.Fatal;
            case "restarting":
                return ServiceEventKinds.Restart;
            case "hang_detected":
                return ServiceEventKinds.Hang;
            case "limit_exceeded":
                return ServiceEventKinds.LimitEvent;
            default:
                return ServiceEventKinds.None;
        }
    }

    /// <summary>An exit that is a failure: a non-zero code, or a signal.</summary>
    private static bool Failed(StabilityEvent exited) =>
        exited.Data is { } data
        && ((data.TryGetValue("exit_code", out var code) && code is { Length: > 0 } && code != "0")
            || (data.TryGetValue("signal", out var signal) && signal is { Length: > 0 }));
}
