using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// A snapshot of the processes of the machine from <c>/proc</c> (Linux), for finding a service's whole tree:
/// its session and group, its descendants, and orphans adopted by its supervisor.
/// </summary>
public sealed class ProcessTable
{
    private readonly Dictionary<int, ProcessEntry> _entries;

    private ProcessTable(Dictionary<int, ProcessEntry> entries) => _entries = entries;

    /// <summary>Every process seen, by pid.</summary>
    public IReadOnlyDictionary<int, ProcessEntry> Entries => _entries;

    /// <summary>Clock ticks per second of <c>/proc</c>'s time fields (USER_HZ, 100 on Linux).</summary>
    public const int TicksPerSecond = 100;

    /// <summary>Reads <c>/proc</c> now. Empty on platforms without it.</summary>
    public static ProcessTable Capture()
    {
        var entries = new Dictionary<int, ProcessEntry>();
        if (!Directory.Exists("/proc"))
        {
            return new ProcessTable(entries);
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory.AsSpan());
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Read(pid) is { } entry)
            {
                entries[pid] = entry;
            }
        }

        return new ProcessTable(entries);
    }

    /// <summary>
    /// The children of <paramref name="pid"/> from <c>/proc/&lt;pid&gt;/task/*/children</c> (each thread lists the
    /// children it forked): far cheaper than a scan of all of <c>/proc</c>. Empty when the process is gone.
    /// </summary>
    public static List<int> Children(int pid)
    {
        var children = new List<int>();
        var tasks = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task";
        try
        {
            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                string text;
                try
                {
                    text = File.ReadAllText(Path.Combine(task, "children"));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                    {
                        children.Add(child);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone.
        }

        return children;
    }

    /// <summary><paramref name="roots"/> and all their descendants, by walking children lists (see <see cref="Children"/>).</summary>
    public static HashSet<int> Descendants(IEnumerable<int> roots)
    {
        var seen = new HashSet<int>();
        var pending = new Stack<int>(roots.Where(r => r > 0));
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            if (!seen.Add(pid))
            {
                continue;
            }

            foreach (var child in Children(pid))
            {
                pending.Push(child);
            }
        }

        return seen;
    }

    /// <summary>Reads one process's <c>/proc/&lt;pid&gt;/stat</c>; null when it is gone.</summary>
    public static ProcessEntry? Read(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return null;
        }

        var f = stat[(close + 2)..].Split(' ');
        if (f.Length < 22)
        {
            return null;
        }

        static long L(string s) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : 0;
        return new ProcessEntry(
            pid,
            f[0].Length > 0 ? f[0][0] : '?',
            (int)L(f[1]),
            (int)L(f[2]),
            (int)L(f[3]),
            L(f[11]) + L(f[12]),
            L(f[21]) * Environment.SystemPageSize,
            L(f[19]));
    }

    /// <summary>
    /// The pids that belong to a service: the process <paramref name="rootPid"/> and its descendants, every
    /// process in its session <paramref name="sessionId"/> (a service runs as a session leader), and the
    /// children of <paramref name="reaperPid"/> (orphans adopted by the supervisor) with their descendants, except
    /// the pids in <paramref name="exclude"/>. Zombies are included (they still need reaping).
    /// </summary>
    public HashSet<int> ServiceTree(int rootPid, int sessionId, int reaperPid, IReadOnlySet<int>? exclude = null)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var entry in _entries.Values)
        {
            if (!children.TryGetValue(entry.ParentPid, out var list))
            {
                children[entry.ParentPid] = list = [];
            }

            list.Add(entry.Pid);
        }

        var tree = new HashSet<int>();
        var pending = new Stack<int>();
        if (rootPid > 0 && _entries.ContainsKey(rootPid))
        {
            pending.Push(rootPid);
        }

        if (sessionId > 1)
        {
            foreach (var entry in _entries.Values.Where(e => e.SessionId == sessionId))
            {
                pending.Push(entry.Pid);
            }
        }

        if (reaperPid > 0 && children.TryGetValue(reaperPid, out var adopted))
        {
            foreach (var pid in adopted)
            {
                pending.Push(pid);
            }
        }

        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            if (pid == reaperPid || (exclude?.Contains(pid) ?? false) || !tree.Add(pid))
            {
                continue;
            }

            if (children.TryGetValue(pid, out var kids))
            {
                foreach (var kid in kids)
                {
                    pending.Push(kid);
                }
            }
        }

        return tree;
    }
}
