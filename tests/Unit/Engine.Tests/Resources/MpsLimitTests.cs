using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Resources;

public sealed class MpsLimitTests
{
    [Fact(Timeout = 120_000)]
    public void Quotas_become_limits_on_the_ordinals_the_service_sees()
    {
        var quotas = new[] { new GpuQuota("t", 4096, 3, QuotaAction.Warn, false), new GpuQuota("t", 1024.7, null, QuotaAction.Warn, false) };

        // Visible devices 2,3 are ordinals 0,1 inside the service: device 3 has its own quota, 2 the general one.
        Assert.Equal("0=1024M,1=4096M", MpsLimit.For(quotas, [2, 3]));
        Assert.Equal("0=4096M", MpsLimit.For([quotas[0]], [3]));
        Assert.Null(MpsLimit.For([quotas[0]], [1]));
        Assert.Null(MpsLimit.For([], [0, 1]));
    }

    [Fact(Timeout = 120_000)]
    public void An_MPS_daemon_is_recognised_by_its_control_pipe()
    {
        using var pipes = new TempDirectory("st-mps");
        Assert.False(MpsLimit.IsDaemonActive(key => key == "CUDA_MPS_PIPE_DIRECTORY" ? pipes.Path : null));

        File.WriteAllText(pipes.File("control"), "");

        Assert.True(MpsLimit.IsDaemonActive(key => key == "CUDA_MPS_PIPE_DIRECTORY" ? pipes.Path : null));
    }
}
