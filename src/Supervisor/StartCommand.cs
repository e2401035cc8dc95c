using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// What the supervisor executes for one run of a service, built from its immutable spec: the program in a session of
/// its own, at its priority and CPU policy, as its user, with its environment, its GPUs and, where a memory cgroup is writable, in
/// that group from its first instruction. Every wrapper execs the next, so the service keeps the pid the supervisor
/// started.
/// </summary>
internal static class StartCommand
{
    /// <param name="spec">The service's spec.</param>
    /// <param name="name">The service.</param>
    /// <param name="state">The state directory.</param>
    /// <param name="store">The store its documents are read with.</param>
    /// <param name="memoryGroup">The memory cgroup it joins, where one is writable.</param>
    /// <param name="pipes">The named pipes of its standard output and error (<see cref="OutputPipe"/>).</param>
    /// <param name="ownDirectory">The folder of its own a confined dashboard writes in.</param>
    public static ProcessStartInfo Build(ServiceSpec spec, string name, StateDirectory state, StatusStore store, MemoryCgroup? memoryGroup,
        (string Out, string Err) pipes, string? ownDirectory = null)
    {
        // setsid(1) execs the program in a new session (the pid stays the same: a freshly forked child is not a group
        // leader, so setsid needs no fork). nice(1), chrt(1) and setpriv(1) exec in turn, so the service keeps that pid too.
        var info = new ProcessStartInfo(ExecutableResolver.Resolve("setsid") ?? "/usr/bin/setsid")
        {
            UseShellExecute = false,
            // No pipe to the supervisor at all: its output goes into named pipes (below), its input is /dev/null.
            RedirectStandardInput = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            WorkingDirectory = spec.WorkingDirectory ?? state.Root,
        };
        if (spec.Nice is { } nice)
        {
            info.ArgumentList.Add(ExecutableResolver.Resolve("nice") ?? "/usr/bin/nice");
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(Str(nice));
        }

        if (IdleChrt(spec) is { } chrt)
        {
            // SCHED_IDLE before the program runs, so every thread it ever starts inherits it (a policy set on a pid
            // later covers that one thread). chrt(1) execs too: same pid. The nice value above stays for the floor.
            info.ArgumentList.Add(chrt);
            info.ArgumentList.Add("--idle");
            info.ArgumentList.Add("0");
        }

        var delegated = DelegatedAccount(spec);
        if (delegated is not null)
        {
            // A program that resolves relative paths finds its run's folder as "." too.
            info.WorkingDirectory = spec.WorkingDirectory ?? state.Run(spec.RunId!).Directory;
        }

        if (spec.RunAsUser is { } user && UserAccount.Find(user) is { } account)
        {
            info.ArgumentList.Add(ExecutableResolver.Resolve("setpriv") ?? "/usr/bin/setpriv");
            info.ArgumentList.Add($"--reuid={Str(account.Uid)}");
            info.ArgumentList.Add($"--regid={Str(account.Gid)}");
            info.ArgumentList.Add("--init-groups");
            info.Environment["HOME"] = account.Home;
            info.Environment["USER"] = account.Name;
            info.Environment["LOGNAME"] = account.Name;
            if (spec.Kind == ServiceKind.Dashboard && ownDirectory is not null)
            {
                DashboardSandbox.Add(info, spec, state, ownDirectory);
            }
        }

        info.ArgumentList.Add(ExecutableResolver.Resolve(spec.FilePath) ?? spec.FilePath);
        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in spec.Environment)
        {
            info.Environment[key] = value;
        }

        info.Environment[StateDirectory.HomeVariable] = state.Root;
        info.Environment["STABILITY_SERVICE"] = name;
        if (spec.RunId is { } runId)
        {
            // The run every restart of this service resumes; a program of its own writes its documents in that folder.
            info.Environment["STABILITY_RUN_ID"] = runId;
            info.Environment["STABILITY_RUN_DIR"] = state.Run(runId).Directory;
        }

        if (delegated is not null)
        {
            // Root opens the run's folder on a descriptor before setpriv drops to the user, who could not look it up
            // through the owner-only folders above it; through /proc/self/fd the folder is reached directly.
            info.Environment[RunDelegation.RunDirectoryVariable] = RunDelegation.DescriptorPath;
            info.Environment[RunDelegation.DelegatedVariable] = "1";
            WrapInShell(info, $"exec {RunDelegation.Descriptor}<\"$0\" && exec \"$@\"", state.Run(spec.RunId!).Directory);
        }

        AddGpus(info, spec, name, state, store);
        if (memoryGroup is not null)
        {
            JoinMemoryGroup(info, memoryGroup);
        }

        // Outermost, so it runs first, as the supervisor's user: the service's output goes into its named pipes, each
        // opened read-write so that the pipe always has a reader while the service lives (issue #22: a supervisor that
        // dies is replaced without the service ever meeting EPIPE). Same pid throughout, as with every wrapper.
        WrapInShell(info, "exec 0</dev/null 1<>\"$0\" 2<>\"$1\" && shift && exec \"$@\"", pipes.Out, pipes.Err);
        return info;
    }

    /// <summary>chrt(1) when <paramref name="spec"/> asks for the idle policy and the platform has it (util-linux); null otherwise.</summary>
    public static string? IdleChrt(ServiceSpec spec) =>
        spec.CpuPolicy == ServiceSpec.CpuPolicyIdle && OperatingSystem.IsLinux() ? ExecutableResolver.Resolve("chrt") : null;

    private static void AddGpus(ProcessStartInfo info, ServiceSpec spec, string name, StateDirectory state, StatusStore store)
    {
        if (spec.HideGpus || spec.Kind == ServiceKind.Dashboard)
        {
            info.Environment["CUDA_VISIBLE_DEVICES"] = "";
            info.Environment["NVIDIA_VISIBLE_DEVICES"] = "none";
        }
        else if (store.Read<ResourceQuotas>(state.QuotasPath).Document is { } resources
                 && resources.GpuAllocations.FirstOrDefault(a => a.Service == name) is { Devices.Count: > 0 } gpus)
        {
            // The ResourceManager's allocation (made by the start, before this supervisor was launched).
            info.Environment["CUDA_VISIBLE_DEVICES"] = ResourceManager.CudaVisibleDevices(gpus);
            // Under MPS the quota becomes a hard limit inside CUDA itself; sampling still watches and reports.
            if (MpsLimit.IsDaemonActive() && MpsLimit.For(resources.GpuQuotas.Where(q => q.Service == name).ToList(), gpus.Devices) is { } limit)
            {
                info.Environment[MpsLimit.Variable] = limit;
            }
        }
    }

    /// <summary>The account a service runs as when its run's folder is handed to that user (-RunAsUser with a run); null otherwise.</summary>
    public static UserAccount? DelegatedAccount(ServiceSpec spec) =>
        spec.RunAsUser is { } user && spec.RunId is not null && OperatingSystem.IsLinux() ? UserAccount.Find(user) : null;

    /// <summary>The account a dashboard runs as when it is confined to reading the state directory (-RunAsUser); null otherwise.</summary>
    public static UserAccount? ConfinedDashboardAccount(ServiceSpec spec) =>
        spec.RunAsUser is { } user && spec.Kind == ServiceKind.Dashboard && OperatingSystem.IsLinux() ? UserAccount.Find(user) : null;

    // Join the memory cgroup before the program runs, so a limit holds from its first allocation: a shell writes its
    // own pid into the group and execs the rest (same pid throughout, as with setsid).
    private static void JoinMemoryGroup(ProcessStartInfo info, MemoryCgroup memoryGroup) =>
        WrapInShell(info, "echo $$ > \"$0\" 2>/dev/null; exec \"$@\"", Path.Combine(memoryGroup.Path, "cgroup.procs"));

    // Runs /bin/sh -c script zero <the command so far>: the script does its part as the supervisor's user and execs the
    // rest, so the service keeps the pid the supervisor started.
    private static void WrapInShell(ProcessStartInfo info, string script, params string[] leading)
    {
        var chain = new List<string> { "-c", script };
        chain.AddRange(leading);
        chain.Add(info.FileName);
        chain.AddRange(info.ArgumentList);
        info.FileName = "/bin/sh";
        info.ArgumentList.Clear();
        foreach (var argument in chain)
        {
            info.ArgumentList.Add(argument);
        }
    }

    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);
}
