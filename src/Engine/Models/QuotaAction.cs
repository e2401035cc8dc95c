namespace StabilityTools.Engine.Models;

/// <summary>
/// What a supervisor does when a service exceeds a GPU quota or memory limit (<see cref="GpuQuota.Action"/>,
/// <see cref="ServiceLimits.MemoryAction"/>); written <c>warn</c>, <c>restart</c>, <c>stop</c>. A reader that meets a
/// word it does not know (from a newer writer) reads <see cref="Warn"/>: it reports the excess rather than acting on
/// an instruction it cannot understand (docs/status-files.md).
/// </summary>
public enum QuotaAction
{
    /// <summary>Record an event (and alert), leave the service running.</summary>
    Warn,

    /// <summary>Restart the service.</summary>
    Restart,

    /// <summary>Stop the service.</summary>
    Stop,
}
