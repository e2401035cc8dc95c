using System.Diagnostics;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// Kills a service's whole tree (Linux): its process group, every process of its session, its descendants and the
/// orphans adopted by its supervisor, repeating until none is left, and reaping the adopted ones by pid.
/// </summary>
public static class ProcessTreeKiller
{
    /// <summary>
    /// SIGKILLs everything of the tree described by <paramref name="rootPid"/>, <paramref name="sessionId"/> and
    /// <paramref name="reaperPid"/> (see <see cref="ProcessTable.ServiceTree"/>) until nothing alive is left or
    /// <paramref name="timeout"/> passes.
    /// </summary>
    /// <param name="rootPid">The service process (may be gone already).</param>
    /// <param name="sessionId">The service's session (and process group) id; 0 when unknown.</param>
    /// <param name="reaperPid">The subreaper whose adopted children belong to the service (the supervisor itself), or 0.</param>
    /// <param name="exclude">Pids never to touch (children the caller waits on itself, e.g. alert commands).</param>
    /// <param name="timeout">The bound on the whole operation.</param>
    /// <returns>The pids still alive at the end: empty on success.</returns>
    public static IReadOnlyList<int> KillTree(int rootPid, int sessionId, int reaperPid, IReadOnlySet<int>? exclude, TimeSpan timeout)
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }

        var clock = Stopwatch.StartNew();
        var self = Environment.ProcessId;
        while (true)
        {
            if (sessionId > 1)
            {
                Native.SignalGroup(sessionId, Native.SIGKILL);
            }

            var table = ProcessTable.Capture();
            var tree = table.ServiceTree(rootPid, sessionId, reaperPid, exclude);
            var alive = new List<int>();
            foreach (var pid in tree)
            {
                if (!table.Entries.TryGetValue(pid, out var entry))
                {
                    continue;
                }

                if (entry.IsZombie)
                {
                    // Only its parent can reap it; when that is us (an adopted orphan), do it now, by pid. The root is
                    // left alone: .NET started it and reaps it itself.
                    if (entry.ParentPid == self && pid != rootPid)
                    {
                        Native.TryReap(pid);
                    }

                    continue;
                }

                alive.Add(pid);
                Native.Signal(pid, Native.SIGKILL);
            }

            if (alive.Count == 0)
            {
                return [];
            }

            if (clock.Elapsed > timeout)
            {
                return alive;
            }

            // A SIGKILLed process dies within microseconds unless it is in uninterruptible sleep: look again shortly.
            Thread.Sleep(5);
        }
    }
}
