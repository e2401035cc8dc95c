using System.Diagnostics;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// Identifies a process by pid and start time, so that a reused pid is never mistaken for ours
/// (docs/status-files.md).
/// </summary>
/// <param name="Pid">The process id.</param>
/// <param name="StartTicks">The start time as the OS reports it: on Linux field 22 of <c>/proc/&lt;pid&gt;/stat</c> (clock ticks since boot); elsewhere <see cref="Process.StartTime"/> in UTC ticks.</param>
public readonly record struct ProcessIdentity(int Pid, long StartTicks)
{
    /// <summary>The identity of the current process.</summary>
    public static ProcessIdentity Current { get; } = Of(Environment.ProcessId) ?? new ProcessIdentity(Environment.ProcessId, 0);

    /// <summary>The identity of the live process <paramref name="pid"/>, or null when there is none.</summary>
    public static ProcessIdentity? Of(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        if (OperatingSystem.IsLinux())
        {
            return ReadLinuxStartTicks(pid) is { } ticks ? new ProcessIdentity(pid, ticks) : null;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return new ProcessIdentity(pid, process.StartTime.ToUniversalTime().Ticks);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>True when a process with this pid and this start time is alive now.</summary>
    public bool IsAlive() => Of(Pid) is { } now && (StartTicks == 0 || now.StartTicks == StartTicks);

    /// <summary>True when any process with <paramref name="pid"/> is alive (whoever it is).</summary>
    public static bool PidExists(int pid) => Of(pid) is not null;

    // A zombie still has a start time, but it is not alive for us.
    private static long? ReadLinuxStartTicks(int pid) => ProcessTable.Read(pid) is { IsZombie: false } entry ? entry.StartTicks : null;
}
