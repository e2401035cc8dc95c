namespace StabilityTools.Engine.Platform;

/// <summary>One process as <c>/proc/&lt;pid&gt;/stat</c> reports it.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="State">The state letter (<c>R</c>, <c>S</c>, <c>Z</c> for a zombie, ...).</param>
/// <param name="ParentPid">The parent's pid.</param>
/// <param name="ProcessGroup">The process group id.</param>
/// <param name="SessionId">The session id.</param>
/// <param name="CpuTicks">User plus system CPU time, in clock ticks (<see cref="ProcessTable.TicksPerSecond"/>).</param>
/// <param name="RssBytes">Resident set size, bytes.</param>
/// <param name="StartTicks">Start time, clock ticks since boot.</param>
public sealed record ProcessEntry(int Pid, char State, int ParentPid, int ProcessGroup, int SessionId, long CpuTicks, long RssBytes, long StartTicks)
{
    /// <summary>True for a zombie (exited, not yet reaped).</summary>
    public bool IsZombie => State == 'Z';
}
