using System.Diagnostics;

namespace StabilityTools.Supervisor;

/// <summary>
/// The processes this supervisor started itself (the service's runs and alert commands). .NET reaps those; the
/// supervisor reaps only the orphans it adopts as a subreaper, never one of these, so starting a child and recording
/// it happen under one lock that the orphan reaper takes too: a child that exits at once is never reaped from
/// under .NET.
/// </summary>
internal sealed class ChildRegistry
{
    private readonly object _gate = new();
    private readonly HashSet<int> _pids = [];

    /// <summary>Starts <paramref name="process"/> and records it, atomically for the reaper.</summary>
    public void Start(Process process)
    {
        lock (_gate)
        {
            process.Start();
            _pids.Add(process.Id);
        }
    }

    /// <summary>Forgets a child that .NET has reaped.</summary>
    public void Forget(int pid)
    {
        lock (_gate)
        {
            _pids.Remove(pid);
        }
    }

    /// <summary>The recorded children other than <paramref name="pid"/>: what a tree kill of that run must spare.</summary>
    public HashSet<int> Except(int pid)
    {
        lock (_gate)
        {
            return [.. _pids.Where(p => p != pid)];
        }
    }

    /// <summary>Runs <paramref name="action"/> with the recorded children, under the lock (the sampler reaps adopted orphans).</summary>
    public void Locked(Action<IReadOnlySet<int>> action)
    {
        lock (_gate)
        {
            action(_pids);
        }
    }
}
