using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Supervisor.Tests.Supervisor;

public sealed class GpuProbeTests
{
    [Fact]
    public void Lines_of_pid_and_MiB_are_summed_per_process()
    {
        var usage = GpuProbe.Parse("123, 1000\n456, 20\n123, 24\nNo running processes found\n\n");
        Assert.Equal(1024, usage[123]);
        Assert.Equal(20, usage[456]);
        Assert.Equal(2, usage.Count);
    }

    [Fact]
    public async Task GPU_memory_of_the_service_tree_is_reported_when_a_probe_is_present()
    {
        await using var h = new SupervisorHarness();
        // A stand-in for nvidia-smi that says every process on the machine uses 100 MiB.
        var fake = Path.Combine(h.State.Root, "fake-nvidia-smi");
        File.WriteAllText(fake, "#!/bin/sh\nps -eo pid= | while read p; do echo \"$p, 100\"; done\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ServiceInfo started;
        Environment.SetEnvironmentVariable("STABILITY_NVIDIA_SMI", fake);
        try
        {
            started = await h.StartAsync(SupervisorHarness.Dummy("gpu", ServiceKind.Program, "sleep"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("STABILITY_NVIDIA_SMI", null);
        }

        var status = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus("gpu"), s => s?.GpuMemoryMB > 0, "a GPU memory figure");
        Assert.Equal(100, status.GpuMemoryMB);
        Assert.Equal(started.Pid, status.Pid);
    }

    [Fact]
    public async Task Without_a_probe_GPU_memory_is_unknown_not_zero()
    {
        if (StabilityTools.Engine.Platform.ExecutableResolver.Resolve("nvidia-smi") is not null)
        {
            Assert.Skip("This machine has nvidia-smi.");
            return;
        }

        await using var h = new SupervisorHarness();
        await h.StartAsync(SupervisorHarness.Dummy("nogpu", ServiceKind.Program, "sleep"));
        var status = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetStatus("nogpu"), s => s?.LastHeartbeat > s?.StartTime, "a heartbeat");
        Assert.Null(status.GpuMemoryMB);
    }
}
