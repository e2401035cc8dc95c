using System.Globalization;
using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// The CPU scheduling policy of every thread of a process (Linux <c>sched_setscheduler</c>, per thread), read back
/// from <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/stat</c>. A policy set on a pid covers that one thread only, which is why a
/// service gets its policy before its program runs (<c>chrt --idle 0</c> in the exec chain): threads inherit it. Setting
/// it afterwards (the supervisor's floor) walks every thread, and threads started later inherit from their creator.
/// </summary>
public static class SchedulingPolicy
{
    /// <summary>SCHED_OTHER, the normal time-sharing policy.</summary>
    public const int Normal = 0;

    /// <summary>SCHED_IDLE: the scheduler's lowest weight (below nice 19); the thread runs when nothing else wants the core.</summary>
    public const int Idle = 5;

    /// <summary>The policy of every thread of <paramref name="pid"/> (field 41 of each task's stat); empty when the process is gone.</summary>
    public static IReadOnlyDictionary<int, int> OfThreads(int pid)
    {
        var policies = new Dictionary<int, int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{Str(pid)}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var tid) && OfThread(pid, tid) is { } policy)
                {
                    policies[tid] = policy;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone.
        }

        return policies;
    }

    /// <summary>Sets <paramref name="policy"/> (<see cref="Normal"/> or <see cref="Idle"/>, priority 0) on every thread of every process in <paramref name="pids"/>. Returns how many threads took it.</summary>
    public static int TrySetAll(IEnumerable<int> pids, int policy)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var set = 0;
        foreach (var pid in pids)
        {
            foreach (var tid in OfThreads(pid).Keys)
            {
                var param = 0;
                if (sched_setscheduler(tid, policy, ref param) == 0)
                {
                    set++;
                }
            }
        }

        return set;
    }

    private static int? OfThread(int pid, int tid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{Str(pid)}/task/{Str(tid)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Field 41 (policy), counting from 1 with pid and comm before the ')' : index 41 - 3.
            return int.Parse(fields[38], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setscheduler(int pid, int policy, ref int param);
}
