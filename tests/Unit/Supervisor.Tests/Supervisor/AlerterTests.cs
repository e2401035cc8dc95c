using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serilog;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

public sealed class AlerterTests
{
    private static StabilityEvent Fatal(string message) => new() { Time = DateTimeOffset.UnixEpoch, Service = "svc", Type = "fatal", Severity = EventSeverity.Error, Message = message };

    [Fact(Timeout = 300_000)]
    public async Task Alerts_are_rate_limited_and_the_next_one_reports_how_many_were_suppressed()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        // Each alert appends the event it got on stdin as one line.
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "svc", "/bin/true") with
        {
            AlertCommand = ["/bin/sh", "-c", $"cat >> '{dir.File("alerts.jsonl")}'; echo >> '{dir.File("alerts.jsonl")}'"],
            AlertMinIntervalMs = 60_000,
        };
        var alerter = new Alerter(time, new LoggerConfiguration().CreateLogger(), p => p.Start(), _ => { });

        alerter.Alert(spec, Fatal("first"));
        time.Advance(TimeSpan.FromSeconds(30));
        alerter.Alert(spec, Fatal("suppressed 1"));
        alerter.Alert(spec, Fatal("suppressed 2"));
        time.Advance(TimeSpan.FromSeconds(30));
        alerter.Alert(spec, Fatal("second"));
        await alerter.DrainAsync(TimeSpan.FromSeconds(20));

        var lines = File.ReadAllLines(dir.File("alerts.jsonl")).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, alerter.Sent);
        Assert.Equal(["first", "second"], lines.Select(l => l.GetProperty("message").GetString()).Order());
        var second = lines.Single(l => l.GetProperty("message").GetString() == "second");
        Assert.Equal("2", second.GetProperty("data").GetProperty("suppressed_alerts").GetString());
        Assert.Equal("fatal", second.GetProperty("type").GetString());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_fatal_service_triggers_the_alert_command_with_the_event_in_STABILITY_EVENT()
    {
        await using var h = new SupervisorHarness();
        var alertFile = Path.Combine(h.State.Root, "alert.json");
        var spec = SupervisorHarness.Dummy("doomed", ServiceKind.Program, "crash", "--after-ms", "500", "--exit-code", "4") with
        {
            RestartPolicy = RestartPolicy.Never,
            StartupGraceMs = 100,
            AlertCommand = ["/bin/sh", "-c", $"printf '%s' \"$STABILITY_EVENT\" > '{alertFile}.tmp' && mv '{alertFile}.tmp' '{alertFile}'"],
        };
        await h.StartAsync(spec);

        await SupervisorHarness.EventuallyAsync(() => File.Exists(alertFile), e => e, "the alert command's file");
        var alert = JsonDocument.Parse(File.ReadAllText(alertFile)).RootElement;
        Assert.Equal("fatal", alert.GetProperty("type").GetString());
        Assert.Equal("doomed", alert.GetProperty("service").GetString());
        Assert.Contains("restart policy is 'never'", alert.GetProperty("message").GetString());
        var sent = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("doomed", type: "alert_sent"), e => e is { Count: > 0 }, "the delivery's event");
        Assert.Equal(("spec", "0"), (sent[0].Data!["rule"], sent[0].Data!["exit_code"]));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_service_runs_as_another_user_when_the_supervisor_is_root()
    {
        if (!StabilityTools.Engine.Platform.UserAccount.IsRoot || StabilityTools.Engine.Platform.UserAccount.Find("nobody") is not { } nobody)
        {
            Assert.Skip("Needs root and a 'nobody' user.");
            return;
        }

        await using var h = new SupervisorHarness();
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "confined", "/bin/sh", ["-c", "echo uid=$(id -u); exec sleep 3600"]) with { RunAsUser = "nobody", StartupGraceMs = 200 };
        var started = await h.StartAsync(spec);

        var lines = await SupervisorHarness.EventuallyAsync(() => h.Manager.ReadLog("confined", 5), l => l is { Count: > 0 }, "the service's output");
        Assert.Equal($"uid={nobody.Uid}", lines[0]);
        Assert.Contains($"Uid:\t{nobody.Uid}\t", File.ReadAllText($"/proc/{started.Pid}/status"));
    }
}
