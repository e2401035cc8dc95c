using System.Runtime.InteropServices;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>A supervisor detaches from its caller: own session, no descriptor of the caller kept.</summary>
public sealed class DetachTests
{
    [Fact(Timeout = 300_000)]
    public async Task Neither_the_supervisor_nor_the_service_keeps_a_descriptor_inherited_from_the_caller()
    {
        await using var h = new SupervisorHarness();
        // An inheritable pipe in the caller (no close-on-exec: .NET never makes one, a shell or CI runner does): a
        // supervisor that kept it would make whoever reads the other end wait for EOF forever.
        var fds = new int[2];
        Assert.Equal(0, pipe(fds));
        var pipeTarget = new FileInfo($"/proc/self/fd/{fds[1]}").LinkTarget!;
        ServiceInfo started;
        try
        {
            started = await h.StartAsync(SupervisorHarness.Dummy("detached", ServiceKind.Program, "sleep"));
        }
        finally
        {
            close(fds[0]);
            close(fds[1]);
        }

        string[] Targets(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Select(f => new FileInfo(f).LinkTarget ?? "").ToArray();
        Assert.DoesNotContain(pipeTarget, Targets(started.SupervisorPid));
        Assert.DoesNotContain(pipeTarget, Targets(started.Pid));
        var supervisor = ProcessTable.Read(started.SupervisorPid)!;
        Assert.Equal(supervisor.Pid, supervisor.SessionId);
        var service = ProcessTable.Read(started.Pid)!;
        Assert.Equal(service.Pid, service.SessionId);
        Assert.Equal(service.Pid, service.ProcessGroup);
    }

    [DllImport("libc")]
    private static extern int pipe([Out] int[] fds);

    [DllImport("libc")]
    private static extern int close(int fd);
}
