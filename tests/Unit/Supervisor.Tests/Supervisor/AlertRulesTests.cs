using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>The supervisor sends the notices of alerts.json's rules to a real webhook on 127.0.0.1, and records each delivery.</summary>
public sealed class AlertRulesTests
{
    private static AlertRule Rule(string url, params AlertTrigger[] on) => new() { Name = "pager", On = on, WebhookUrl = url, MinIntervalMs = 0 };

    private static ServiceSpec Crashing(string name, RestartPolicy policy) =>
        SupervisorHarness.Dummy(name, ServiceKind.Program, "crash", "--after-ms", "300", "--exit-code", "4") with { RestartPolicy = policy, StartupGraceMs = 100 };

    [Fact(Timeout = 300_000)]
    public async Task A_fatal_service_posts_one_notice_carrying_the_event_and_records_the_delivery_without_the_url_path()
    {
        await using var h = new SupervisorHarness();
        using var hook = new WebhookReceiver();
        new AlertBook(h.State).Set(Rule(hook.Url, AlertTrigger.Fatal) with { Scope = "doomed" });

        await h.StartAsync(Crashing("doomed", RestartPolicy.Never));

        var sent = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("doomed", type: "alert_sent"), e => e is { Count: > 0 }, "an alert_sent event");
        var body = Assert.Single(hook.Bodies);
        Assert.Equal(("firing", "fatal", "doomed"), (body.GetProperty("status").GetString(), body.GetProperty("trigger").GetString(), body.GetProperty("service").GetString()));
        Assert.Equal("fatal", body.GetProperty("event").GetProperty("type").GetString());
        Assert.Contains("restart policy is 'never'", body.GetProperty("event").GetProperty("message").GetString());
        Assert.Equal($"http://127.0.0.1:{hook.Port}", sent[0].Data!["target"]);
        Assert.DoesNotContain("secret-token", sent[0].Message);
        Assert.Equal("200", sent[0].Data!["status_code"]);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_service_that_runs_again_after_going_fatal_sends_one_resolved_notice()
    {
        await using var h = new SupervisorHarness();
        using var hook = new WebhookReceiver();
        new AlertBook(h.State).Set(Rule(hook.Url, AlertTrigger.Fatal));
        await h.StartAsync(Crashing("svc", RestartPolicy.Never));
        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("svc", type: "alert_sent"), e => e is { Count: 1 }, "the fatal notice");

        // A new Start: a new supervisor, which finds the open condition in alert_state.json.
        await h.StartAsync(SupervisorHarness.Dummy("svc", ServiceKind.Program, "sleep") with { StartupGraceMs = 100 });

        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("svc", type: "alert_sent"), e => e is { Count: 2 }, "the resolved notice");
        Assert.Equal(["firing", "resolved"], hook.Bodies.Select(b => b.GetProperty("status").GetString()));
        var state = new AlertBook(h.State).ReadAlertState("svc");
        Assert.False(Assert.Single(state.Tracks).Open);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_webhook_that_hangs_is_cut_off_at_its_timeout_with_an_event_while_supervision_goes_on()
    {
        await using var h = new SupervisorHarness();
        using var hook = new WebhookReceiver(hang: true);
        new AlertBook(h.State).Set(Rule(hook.Url, AlertTrigger.Restart) with { TimeoutMs = 4000, MinIntervalMs = 600_000 });
        var spec = Crashing("flaky", RestartPolicy.OnFailure) with { BackoffInitialMs = 50, BackoffMaxMs = 100, CircuitMaxRestarts = 1000 };

        await h.StartAsync(spec);

        // The first notice hangs for 4 s; meanwhile the loop goes on restarting the service.
        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("flaky", type: "started"), e => e is { Count: >= 4 }, "four starts", TimeSpan.FromSeconds(20));
        Assert.Empty(h.Manager.GetEvents("flaky", type: "alert_failed"));
        var failed = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("flaky", type: "alert_failed"), e => e is { Count: > 0 }, "an alert_failed event");
        Assert.Contains("did not answer within 4000 ms", failed[0].Data!["error"]);
        Assert.Single(hook.Bodies);
        Assert.NotEqual(ServiceState.Fatal, h.Manager.GetStatus("flaky").State);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_trainer_that_reports_a_NaN_loss_fires_its_alert_once_within_a_status_interval()
    {
        await using var h = new SupervisorHarness();
        using var hook = new WebhookReceiver();
        new AlertBook(h.State).Set(Rule(hook.Url, AlertTrigger.LossNotFinite));
        var spec = SupervisorHarness.Dummy("diverged", ServiceKind.Training, "heartbeat", "--loss", "NaN") with
        {
            RunId = "run-nan", HeartbeatIntervalMs = 1000, ReadyOnHeartbeat = false,
        };
        var started = await h.StartAsync(spec);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("diverged", type: "alert_sent"), e => e is { Count: > 0 }, "the loss notice");
        // One status interval (1 s) for the tick to read it, plus the delivery, with slack for a loaded machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        var loss = Assert.Single(h.Manager.GetEvents("diverged", type: "loss_not_finite"));
        Assert.Equal("loss NaN", loss.Data!["value"]);
        var body = Assert.Single(hook.Bodies);
        Assert.Equal("loss_not_finite", body.GetProperty("trigger").GetString());
        Assert.Equal(started.Pid, h.Manager.GetStatus("diverged").Pid);
    }

    [Fact(Timeout = 300_000)]
    public async Task An_unreadable_alerts_json_is_refused_with_an_event_and_sends_nothing()
    {
        await using var h = new SupervisorHarness();
        using var hook = new WebhookReceiver();
        new AlertBook(h.State).Set(Rule(hook.Url, AlertTrigger.Fatal));
        // Torn by hand: half a document.
        var path = AlertBook.PathIn(h.State);
        var text = File.ReadAllText(path);
        File.WriteAllText(path, text[..(text.Length / 2)]);

        await h.StartAsync(Crashing("svc", RestartPolicy.Never));

        var refused = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("svc", type: "alert_rules_refused"), e => e is { Count: > 0 }, "an alert_rules_refused event");
        Assert.Contains("Set-StabilityAlert", refused[0].Message);
        await h.WaitForEventAsync("svc", "fatal");
        Assert.Empty(hook.Bodies);
        Assert.Equal(text[..(text.Length / 2)], File.ReadAllText(path));
    }

    [Fact(Timeout = 300_000)]
    public async Task An_alerts_json_owned_by_another_user_is_never_acted_on()
    {
        if (!StabilityTools.Engine.Platform.UserAccount.IsRoot || StabilityTools.Engine.Platform.UserAccount.Find("nobody") is not { } nobody)
        {
            Assert.Skip("Needs root and a 'nobody' user.");
            return;
        }

        await using var h = new SupervisorHarness();
        var planted = Path.Combine(h.State.Root, "planted");
        new AlertBook(h.State).Set(new AlertRule { Name = "evil", On = [AlertTrigger.Fatal], Command = ["/bin/sh", "-c", $"touch '{planted}'"], MinIntervalMs = 0 });
        File.SetUnixFileMode(AlertBook.PathIn(h.State), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        TestFiles.Chown(AlertBook.PathIn(h.State), nobody.Uid);

        await h.StartAsync(Crashing("svc", RestartPolicy.Never));

        var refused = await SupervisorHarness.EventuallyAsync(() => h.Manager.GetEvents("svc", type: "alert_rules_refused"), e => e is { Count: > 0 }, "an alert_rules_refused event");
        Assert.Contains($"uid {nobody.Uid}", refused[0].Message);
        await h.WaitForEventAsync("svc", "fatal");
        Assert.False(File.Exists(planted));
        Assert.Empty(h.Manager.GetEvents("svc", type: "alert_sent"));
    }
}
