using System.Globalization;
using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// CPU affinity and scheduling priority of a process (Linux: <c>sched_setaffinity</c>, <c>setpriority</c>), applied
/// by a supervisor to every process of its service and read back from <c>/proc</c> to prove it.
/// </summary>
public static class ProcessLimits
{
    private const int PrioProcess = 0;

    /// <summary>Restricts <paramref name="pid"/> to <paramref name="cores"/> (empty: every core). False when the process is gone or the call failed.</summary>
    public static unsafe bool TrySetAffinity(int pid, IReadOnlyCollection<int> cores)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        const int words = 16; // 1024 CPUs, the kernel's default cpu_set_t
        var mask = stackalloc ulong[words];
        var all = cores.Count == 0 ? Enumerable.Range(0, Environment.ProcessorCount) : cores;
        foreach (var core in all)
        {
            if (core is >= 0 and < words * 64)
            {
                mask[core / 64] |= 1UL << (core % 64);
            }
        }

        return sched_setaffinity(pid, (nuint)(words * sizeof(ulong)), mask) == 0;
    }

    /// <summary>The cores <paramref name="pid"/> may run on, from <c>/proc/&lt;pid&gt;/status</c>; null when it is gone.</summary>
    public static IReadOnlyList<int>? GetAffinity(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status")
                .FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            return line is null ? null : ParseCpuList(line.Split(':', 2)[1].Trim());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sets the nice value of <paramref name="pid"/>. False when the process is gone or the call was refused (raising priority needs privilege).</summary>
    public static bool TrySetNice(int pid, int nice) => OperatingSystem.IsLinux() && setpriority(PrioProcess, (uint)pid, nice) == 0;

    /// <summary>The nice value of <paramref name="pid"/>, from field 19 of <c>/proc/&lt;pid&gt;/stat</c>; null when it is gone.</summary>
    public static int? GetNice(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[16], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Parses a kernel CPU list such as <c>0-2,4</c>.</summary>
    public static IReadOnlyList<int> ParseCpuList(string list)
    {
        var cores = new List<int>();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            var from = int.Parse(range[0], CultureInfo.InvariantCulture);
            var to = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
            for (var c = from; c <= to; c++)
            {
                cores.Add(c);
            }
        }

        return cores;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern unsafe int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, uint who, int prio);
}
