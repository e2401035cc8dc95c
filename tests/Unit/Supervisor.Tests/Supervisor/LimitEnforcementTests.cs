using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>
/// Quotas and limits enforced by the real supervisor on a real service: GPU memory seen through a fake nvidia-smi
/// (no GPU here) that reports the service's own pid, resident memory of a dummy that allocates, CPU affinity and
/// priority read back from /proc.
/// </summary>
public sealed class LimitEnforcementTests
{
    private static readonly TimeSpan GpuPatience = TimeSpan.FromSeconds(45);

    [Fact(Timeout = 300_000)]
    public async Task A_service_over_its_GPU_quota_is_restarted_with_an_event()
    {
        await using var h = new SupervisorHarness();
        using var smi = new TempDirectory("st-smi");
        var apps = smi.File("apps.csv");
        await File.WriteAllTextAsync(apps, "", SupervisorHarness.Token);
        var script = smi.File("nvidia-smi");
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            case "$1" in
              --query-gpu=*) echo '0, GPU-4b5c6a52-1f0e-2c3d-9a8b-7c6d5e4f3a21, NVIDIA A100-SXM4-80GB, 81920, 30000, 90' ;;
              --query-compute-apps=*) cat '{apps}' ;;
              *) exit 2 ;;
            esac
            """.Replace("\r", "", StringComparison.Ordinal), SupervisorHarness.Token);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The supervisor inherits this process's environment: it finds the fake on PATH (NVML is absent here).
        Environment.SetEnvironmentVariable("PATH", smi.Path + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"));

        new ResourceManager(h.State, new NvidiaSmiProbe(script)).SetGpuQuota("gpu-hog", 1024, device: 0, action: QuotaAction.Restart);
        var started = await h.StartAsync(SupervisorHarness.Dummy("gpu-hog", ServiceKind.Program, "sleep") with { RestartPolicy = RestartPolicy.Always });
        await File.WriteAllTextAsync(apps, $"{started.Pid}, GPU-4b5c6a52-1f0e-2c3d-9a8b-7c6d5e4f3a21, 30000\n", SupervisorHarness.Token);

        var events = await SupervisorHarness.EventuallyAsync(
            () => h.Manager.GetEvents("gpu-hog", type: "limit_exceeded"), e => e is { Count: > 0 }, "a limit_exceeded event", GpuPatience);
        var restarted = await h.RunningWithNewPidAsync("gpu-hog", started.Pid);

        var exceeded = events[0];
        Assert.Equal("gpu_memory", exceeded.Data!["kind"]);
        Assert.Equal("30000", exceeded.Data["used_mb"]);
        Assert.Equal("1024", exceeded.Data["limit_mb"]);
        Assert.Equal("restart", exceeded.Data["action"]);
        Assert.Equal(started.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), exceeded.Data["pid"]);
        Assert.NotEqual(started.Pid, restarted.Pid);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_service_growing_past_its_memory_limit_is_stopped_when_so_configured()
    {
        await using var h = new SupervisorHarness();
        new ResourceManager(h.State, NoGpuProbe.Instance).SetResourceLimit("grower", memoryLimitMb: 80, memoryAction: QuotaAction.Stop);

        var started = await h.StartAsync(SupervisorHarness.Dummy("grower", ServiceKind.Program, "alloc", "--mb", "200"));

        var stopped = await SupervisorHarness.EventuallyAsync(
            () => h.Manager.GetStatus("grower"), s => s is { State: ServiceState.Stopped }, "'grower' stopped for its memory");
        Assert.Contains("over the limit of 80 MiB", stopped.ErrorMessage, StringComparison.Ordinal);
        var exceeded = Assert.Single(h.Manager.GetEvents("grower", type: "limit_exceeded"));
        Assert.Equal("memory", exceeded.Data!["kind"]);
        Assert.True(double.Parse(exceeded.Data["used_mb"], System.Globalization.CultureInfo.InvariantCulture) > 80);
        await SupervisorHarness.WaitGoneAsync(new ProcessIdentity(started.Pid, 0));
    }

    [Fact(Timeout = 300_000)]
    public async Task CPU_affinity_and_priority_are_applied_to_a_live_service_and_lifted_again()
    {
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("pinned", ServiceKind.Program, "sleep"));
        var resources = new ResourceManager(h.State, NoGpuProbe.Instance);
        var everyCore = Enumerable.Range(0, Environment.ProcessorCount).ToList();
        Assert.Equal(everyCore, ProcessLimits.GetAffinity(started.Pid));

        resources.SetResourceLimit("pinned", cpuAffinity: [0], priority: 7);
        await SupervisorHarness.EventuallyAsync(
            () => (ProcessLimits.GetAffinity(started.Pid), ProcessLimits.GetNice(started.Pid)),
            x => x.Item1 is [0] && x.Item2 == 7, "affinity {0} and nice 7 on the live service");

        resources.SetResourceLimit("pinned", cpuAffinity: []);
        await SupervisorHarness.EventuallyAsync(
            () => ProcessLimits.GetAffinity(started.Pid), cores => cores is not null && cores.SequenceEqual(everyCore), "every core again");
        Assert.Equal(started.Pid, h.Manager.GetStatus("pinned")!.Pid);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_memory_limit_with_restart_is_enforced_by_the_kernel_where_a_memory_cgroup_is_writable()
    {
        await using var h = new SupervisorHarness();
        var group = MemoryCgroup.TryOpen(h.State.Root, "hog", create: true);
        Assert.SkipWhen(group is null, "No writable memory cgroup here (needs root with cgroup v1 memory or v2): limits are enforced by sampling only.");
        new ResourceManager(h.State, NoGpuProbe.Instance).SetResourceLimit("hog", memoryLimitMb: 100, memoryAction: QuotaAction.Restart);

        // A native hog, after the start-up grace: tail holds a newline-free 400 MB line in memory until the kernel
        // OOM-kills it at the group's limit. (A .NET service would not get that far: the runtime sizes its heap from
        // the cgroup limit and aborts on its own first.)
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "hog", "/bin/sh", ["-c", "sleep 1; head -c 400000000 /dev/zero | tail -n 1 > /dev/null"])
            with { StartupGraceMs = 300, RestartPolicy = RestartPolicy.Always };
        var started = await h.StartAsync(spec);

        var hard = await SupervisorHarness.EventuallyAsync(
            () => h.Manager.GetEvents("hog", type: "limit_exceeded").Where(e => e.Data?.GetValueOrDefault("enforced_by") == "cgroup").ToList(),
            e => e is { Count: > 0 }, "a kernel-enforced limit_exceeded event");
        Assert.Equal(100L * 1024 * 1024, group!.ReadLimit());
        Assert.True(group.LimitHits() > 0);
        Assert.Equal("100", hard[0].Data!["limit_mb"]);
        Assert.NotEqual(0, started.Pid);
        // The run that ran into the limit ended as the shell reports an OOM-killed pipeline: 128 + 9.
        var exit = h.Manager.GetEvents("hog", type: "exited").First(e => e.Data!["pid"] == hard[0].Data!["pid"]);
        Assert.Equal("9", exit.Data!["signal"]);
    }
}
