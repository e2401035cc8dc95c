using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using Serilog;

namespace StabilityTools.Supervisor;

/// <summary>
/// The two-stage stop (CliWrap's killer; docs/status-files.md): SIGTERM to the run's process group, a bounded
/// wait, then SIGKILL to everything of the service — the freezer cgroup where there is one, else the tree walked from
/// /proc, grandchildren that left the group and double-forked orphans included — and a bounded wait that reports
/// survivors. Also ends what a dead predecessor left running.
/// </summary>
/// <remarks>
/// <paramref name="spared"/> names processes that are never part of the tree, with all below them: for a sweep's
/// controller, the live supervisors of its trials, which it started (so they are its descendants, or this subreaper's
/// adopted orphans once it died) but which supervise services of their own.
/// </remarks>
internal sealed class ServiceKiller(string name, ServiceCgroup? cgroup, ChildRegistry children, int selfPid, ILogger log, TimeProvider time,
    Action<string, EventSeverity, string, (string Key, string Value)[]> report, Func<IReadOnlySet<int>>? spared = null)
{
    /// <summary>How long a SIGKILLed tree may take to be gone before its survivors are reported.</summary>
    public static readonly TimeSpan KillBound = TimeSpan.FromSeconds(5);

    /// <summary>Stops <paramref name="run"/>: graceful first unless <paramref name="force"/>, then the whole tree.</summary>
    /// <param name="run">The run.</param>
    /// <param name="timeout">How long SIGTERM has.</param>
    /// <param name="force">Kill at once.</param>
    /// <param name="useCgroup">Kill the whole cgroup too (a final stop; not a restart, which reuses the group at once).</param>
    public async Task KillRunAsync(ServiceRun run, TimeSpan timeout, bool force, bool useCgroup)
    {
        if (!force && !run.Exit.Task.IsCompleted)
        {
            Native.SignalGroup(run.Pid, Native.SIGTERM);
            await Task.WhenAny(run.Exit.Task, Task.Delay(timeout, time)).ConfigureAwait(false);
            if (!run.Exit.Task.IsCompleted)
            {
                report("stop_timeout", EventSeverity.Warning, $"'{name}' (pid {run.Pid}) ignored SIGTERM for {timeout.TotalSeconds:0.###} s; killing its whole tree.", []);
            }
        }

        // Always, even after a graceful exit: grandchildren that ignored the signal, left the group, or were
        // double-forked (adopted by this subreaper) must not survive the service.
        var survivors = await Task.Run(() => KillRemnants(run, useCgroup)).ConfigureAwait(false);
        if (await Task.WhenAny(run.Exit.Task, Task.Delay(KillBound, time)).ConfigureAwait(false) != run.Exit.Task || survivors.Count > 0)
        {
            report("kill_failed", EventSeverity.Error, $"Processes of '{name}' survived SIGKILL for {KillBound.TotalSeconds:0} s: {string.Join(", ", survivors)}.", []);
        }
    }

    /// <summary>SIGKILLs whatever of <paramref name="run"/> is left (sparing the supervisor's other children); returns the survivors.</summary>
    public IReadOnlyList<int> KillRemnants(ServiceRun run, bool useCgroup)
    {
        var inGroup = useCgroup && cgroup is not null ? cgroup.KillAll(KillBound) : [];
        var exclude = children.Except(run.Pid);
        exclude.UnionWith(spared?.Invoke() ?? new HashSet<int>());
        var survivors = ProcessTreeKiller.KillTree(run.Pid, run.Pid, selfPid, exclude, KillBound).Concat(inGroup).Distinct().ToList();
        if (survivors.Count > 0)
        {
            log.Error("Processes {Survivors} of {Service} survived SIGKILL", survivors, name);
        }

        return survivors;
    }

    /// <summary>
    /// Ends a service left running by a supervisor that died (found by pid and start time in the old status.json).
    /// Returns what became of it, a phrase for the <c>supervisor_replaced</c> event: "its processes 12, 13 were killed",
    /// "pid 12 had already exited", or null when the old status names no process of this host.
    /// </summary>
    public string? EndLeftovers(ProcessStatus? previous)
    {
        // The cgroup remembers every process of the previous run, even those that left its session and were
        // re-parented to init when their supervisor died.
        if (cgroup?.Members() is { Count: > 0 } members)
        {
            var left = cgroup.KillAll(KillBound);
            report("orphan_killed", EventSeverity.Warning,
                $"Killed {members.Count} process(es) of '{name}' ({string.Join(", ", members)}) left running by a supervisor that is gone, so that it never runs twice." +
                (left.Count > 0 ? $" Survivors: {string.Join(", ", left)}." : ""), []);
            return $"its processes {string.Join(", ", members)} were killed, so that it never runs twice";
        }

        if (previous is null || previous.Pid <= 0 || previous.PidStartTicks == 0 || previous.Host != Environment.MachineName)
        {
            return null;
        }

        var leftover = new ProcessIdentity(previous.Pid, previous.PidStartTicks);
        if (!leftover.IsAlive())
        {
            return $"pid {previous.Pid} had already exited";
        }

        var survivors = ProcessTreeKiller.KillTree(previous.Pid, previous.Pid, 0, spared?.Invoke(), KillBound);
        report("orphan_killed", EventSeverity.Warning,
            $"Killed pid {previous.Pid} of '{name}', left running by supervisor {previous.SupervisorPid} that is gone, so that it never runs twice." +
            (survivors.Count > 0 ? $" Survivors: {string.Join(", ", survivors)}." : ""),
            [("pid", previous.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        return $"pid {previous.Pid} was killed, so that it never runs twice";
    }
}
