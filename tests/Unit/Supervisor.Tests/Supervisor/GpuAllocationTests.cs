using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>GPU allocation at start, with a fake nvidia-smi reporting two GPUs (there is no GPU here).</summary>
public sealed class GpuAllocationTests
{
    private static TempDirectory FakeTwoGpus()
    {
        var dir = new TempDirectory("st-smi2");
        var script = dir.File("nvidia-smi");
        File.WriteAllText(script, """
            #!/bin/sh
            case "$1" in
              --query-gpu=*) printf '0, GPU-aaaa0000-0000-0000-0000-000000000000, NVIDIA A100-SXM4-80GB, 81920, 4, 0\n1, GPU-bbbb1111-1111-1111-1111-111111111111, NVIDIA A100-SXM4-80GB, 81920, 4, 0\n' ;;
              --query-compute-apps=*) ;;
              *) exit 2 ;;
            esac
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Environment.SetEnvironmentVariable("PATH", dir.Path + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"));
        return dir;
    }

    [Fact(Timeout = 300_000)]
    public async Task A_trainer_sees_the_GPUs_it_was_given_and_a_dashboard_none()
    {
        using var gpus = FakeTwoGpus();
        await using var h = new SupervisorHarness();

        await h.StartAsync(SupervisorHarness.Dummy("training", ServiceKind.Training, "print-env", "CUDA_VISIBLE_DEVICES"));
        await h.StartAsync(SupervisorHarness.Dummy("dashboard", ServiceKind.Dashboard, "print-env", "CUDA_VISIBLE_DEVICES"));

        var trainer = await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("training", 20), l => l is { Count: > 0 }, "the trainer's environment");
        var dashboard = await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("dashboard", 20), l => l is { Count: > 0 }, "the dashboard's environment");
        Assert.Contains("CUDA_VISIBLE_DEVICES=0,1", trainer);
        Assert.Contains("CUDA_VISIBLE_DEVICES=", dashboard);
        var quotas = new StabilityTools.Engine.Status.StatusStore().Read<ResourceQuotas>(h.State.QuotasPath).Document!;
        Assert.Equal([0, 1], quotas.GpuAllocations.Single(a => a.Service == "training").Devices);
        Assert.Empty(quotas.GpuAllocations.Single(a => a.Service == "dashboard").Devices);
        Assert.Equal(2, quotas.Devices.Count);
    }

    [Fact(Timeout = 300_000)]
    public async Task Under_an_MPS_daemon_a_GPU_quota_becomes_a_hard_limit_in_the_service_environment()
    {
        using var gpus = FakeTwoGpus();
        using var mps = new TempDirectory("st-mps");
        await File.WriteAllTextAsync(mps.File("control"), "", SupervisorHarness.Token);
        Environment.SetEnvironmentVariable("CUDA_MPS_PIPE_DIRECTORY", mps.Path);
        try
        {
            await using var h = new SupervisorHarness();
            new ResourceManager(h.State).SetGpuQuota("training", 2048, device: 1);

            await h.StartAsync(SupervisorHarness.Dummy("training", ServiceKind.Training, "print-env", "CUDA_VISIBLE_DEVICES", MpsLimit.Variable));

            var env = await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("training", 20), l => l is { Count: >= 2 }, "the trainer's environment");
            // The quota names GPU 1, so the service is given GPU 1 alone, which it sees as its device 0.
            Assert.Contains("CUDA_VISIBLE_DEVICES=1", env);
            Assert.Contains($"{MpsLimit.Variable}=0=2048M", env);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CUDA_MPS_PIPE_DIRECTORY", null);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_GPU_held_exclusively_by_another_service_refuses_the_start_before_anything_runs()
    {
        using var gpus = FakeTwoGpus();
        await using var h = new SupervisorHarness();
        new ResourceManager(h.State).AllocateGpuResources("other", isDashboard: false, devices: [1], exclusive: true);

        var error = await Assert.ThrowsAsync<ResourceConflictException>(() =>
            h.StartAsync(SupervisorHarness.Dummy("training", ServiceKind.Training, "sleep")));

        Assert.Equal("GPU 1", error.Resource);
        Assert.Contains("held exclusively by service 'other'", error.Message, StringComparison.Ordinal);
        Assert.Empty(h.ProcessesOfThisTest());
    }
}
