using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>
/// Issue #13 against the real supervisor: it acts only on requests from files its own user (or root) owns, records
/// who asked from the kernel, reloads limits but never a command line, and writes no log through a planted link.
/// </summary>
public sealed class VerifiedRequestTests
{
    private const string VictimText = "root-only secret\n";

    private static void SkipUnlessRootOnUnix() =>
        Assert.SkipUnless(!OperatingSystem.IsWindows() && UserAccount.IsRoot, "Giving a request file to another user (chown) takes root on Unix.");

    [Fact(Timeout = 300_000)]
    public async Task A_control_request_in_a_file_someone_else_owns_is_refused_and_audited_with_the_owner_the_kernel_gives()
    {
        SkipUnlessRootOnUnix();
        await using var h = new SupervisorHarness();
        var started = await h.StartAsync(SupervisorHarness.Dummy("victim", ServiceKind.Program, "sleep"));
        var request = ControlRequest.Create(ControlCommand.Restart) with { RequestedBy = new Requester("root", 1, "forged") };
        var path = h.State.ServiceControlPath("victim");
        var temp = path + ".planted";
        new StatusStore().Write(temp, request);
        TestFiles.Chown(temp, 65534);
        File.Move(temp, path, overwrite: true);

        var status = await SupervisorHarness.EventuallyAsync(() => new StatusStore().Read<ProcessStatus>(h.State.ServiceStatusPath("victim")).Document,
            s => s?.LastControl?.RequestId == request.RequestId, "the supervisor's answer to the planted request");

        Assert.Equal("refused", status.LastControl!.Outcome);
        var refused = Assert.Single(h.Manager.GetEvents("victim", type: "request_refused"));
        Assert.Equal("65534", refused.Data!["requested_by_uid"]);
        Assert.Equal("root", refused.Data["claimed_user"]);
        Assert.Empty(h.Manager.GetEvents("victim", type: "control"));
        var now = h.Manager.GetStatus("victim");
        Assert.Equal(started.Pid, now.Pid);
        Assert.Equal(0, now.Restarts);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_genuine_request_is_audited_with_the_owner_of_its_file()
    {
        await using var h = new SupervisorHarness();
        await h.StartAsync(SupervisorHarness.Dummy("svc", ServiceKind.Program, "sleep"));

        await h.Manager.SendAsync("svc", ControlRequest.Create(ControlCommand.ReloadLimits), SupervisorHarness.Token);

        var control = Assert.Single(h.Manager.GetEvents("svc", type: "control"));
        Assert.Equal(Native.GetEffectiveUserId().ToString(System.Globalization.CultureInfo.InvariantCulture), control.Data!["requested_by_uid"]);
        Assert.Equal("reload-limits", control.Data["command"]);
    }

    [Fact(Timeout = 300_000)]
    public async Task Reload_limits_takes_the_new_limits_but_never_a_new_command_line()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("svc", ServiceKind.Program, "sleep");
        await h.StartAsync(spec);
        var changed = spec with
        {
            Arguments = [TestPrograms.DummyPath, "print-env"],
            AlertCommand = ["/bin/sh", "-c", "touch /tmp/should-never-run"],
            LogMaxFiles = 2,
        };
        new StatusStore().Write(h.State.ServiceSpecPath("svc"), changed);

        var ack = await h.Manager.SendAsync("svc", ControlRequest.Create(ControlCommand.ReloadLimits), SupervisorHarness.Token);
        var restarted = await h.Manager.RestartAsync("svc", null, SupervisorHarness.Token);

        Assert.Equal("ok", ack.Outcome);
        var ignored = Assert.Single(h.Manager.GetEvents("svc", type: "reload_ignored_execution"));
        Assert.Contains("arguments", ignored.Data!["ignored"], StringComparison.Ordinal);
        Assert.Contains("alert_command", ignored.Data["ignored"], StringComparison.Ordinal);
        var cmdline = File.ReadAllText($"/proc/{restarted.Pid}/cmdline").Split('\0');
        Assert.Contains("sleep", cmdline);
        Assert.DoesNotContain("print-env", cmdline);
    }

    [Fact(Timeout = 300_000)]
    public async Task Links_planted_at_the_capture_and_supervisor_logs_are_refused_with_an_event_and_their_target_is_untouched()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        await using var h = new SupervisorHarness();
        using var outside = new TempDirectory("st-victim");
        var victim = outside.File("victim.txt");
        File.WriteAllText(victim, VictimText);
        h.State.EnsureServiceDirectory("svc");
        File.CreateSymbolicLink(Path.Combine(h.State.ServiceLogDirectory("svc"), "stdout.log"), victim);
        File.CreateSymbolicLink(Path.Combine(h.State.ServiceLogDirectory("svc"), "supervisor.log"), victim);

        await h.StartAsync(SupervisorHarness.Dummy("svc", ServiceKind.Program, "sleep"));
        var refused = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("svc", type: "unsafe_file"), e => e is { Count: >= 2 },
            "unsafe_file events for stdout.log and supervisor.log");

        Assert.Equal(["stdout.log", "supervisor.log"], refused.Select(e => Path.GetFileName(e.Data!["path"])).Order(StringComparer.Ordinal).ToArray());
        Assert.All(refused, e => Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal));
        Assert.Equal(VictimText, File.ReadAllText(victim));
        Assert.Equal(ServiceState.Running, h.Manager.GetStatus("svc").State);
    }
}
