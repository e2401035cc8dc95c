using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Alerts;

public sealed class AlertDeliveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static AlertNotice Notice(AlertNoticeKind kind = AlertNoticeKind.Firing) => new(
        "pager", "training", AlertTrigger.Fatal, kind, "[StabilityTools] fatal: 'training' is fatal \"quoted\".", new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero), 3,
        new StabilityEvent { Type = "fatal", Service = "training", Message = "'training' is fatal", Data = new Dictionary<string, string> { ["exit_code"] = "78" } });

    [Fact(Timeout = 120_000)]
    public void The_generic_payload_carries_the_rule_the_status_and_the_event()
    {
        using var json = JsonDocument.Parse(AlertPayload.Build(Notice(), AlertFormat.Json));
        var root = json.RootElement;

        Assert.Equal("alert_notice/1", root.GetProperty("schema").GetString());
        Assert.Equal("firing", root.GetProperty("status").GetString());
        Assert.Equal("pager", root.GetProperty("rule").GetString());
        Assert.Equal("fatal", root.GetProperty("trigger").GetString());
        Assert.Equal(3, root.GetProperty("suppressed").GetInt32());
        Assert.Equal("78", root.GetProperty("event").GetProperty("data").GetProperty("exit_code").GetString());
        Assert.Equal("fatal", root.GetProperty("event").GetProperty("type").GetString());
    }

    [Fact(Timeout = 120_000)]
    public void The_slack_payload_is_a_text_object_only()
    {
        using var json = JsonDocument.Parse(AlertPayload.Build(Notice(AlertNoticeKind.Resolved), AlertFormat.Slack));

        Assert.Equal("text", Assert.Single(json.RootElement.EnumerateObject()).Name);
        Assert.Equal(Notice().Text, json.RootElement.GetProperty("text").GetString());
    }

    [Fact(Timeout = 120_000)]
    public void The_teams_payload_is_a_message_card_with_facts()
    {
        using var json = JsonDocument.Parse(AlertPayload.Build(Notice(AlertNoticeKind.Resolved), AlertFormat.Teams));
        var root = json.RootElement;

        Assert.Equal("MessageCard", root.GetProperty("@type").GetString());
        Assert.Equal("https://schema.org/extensions", root.GetProperty("@context").GetString());
        Assert.Equal("2EB886", root.GetProperty("themeColor").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("summary").GetString()));
        var facts = root.GetProperty("sections")[0].GetProperty("facts").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("value").GetString());
        Assert.Equal("resolved", facts["Status"]);
        Assert.Equal("training", facts["Service"]);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_webhook_gets_the_body_by_post_and_its_status_is_reported()
    {
        using var listener = Listen(out var url);
        var received = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var result = (context.Request.HttpMethod, context.Request.ContentType, body);
            context.Response.StatusCode = 202;
            context.Response.Close();
            return result;
        });
        using var sender = new AlertSender();

        var result = await sender.SendAsync(new AlertRule { Name = "pager", On = [AlertTrigger.Fatal], WebhookUrl = url + "secret/path", Format = AlertFormat.Slack }, Notice());

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(202, result.StatusCode);
        Assert.DoesNotContain("secret", result.Target);
        var (method, type, body) = await received.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("POST", method);
        Assert.StartsWith("application/json", type);
        Assert.Equal(Notice().Text, JsonDocument.Parse(body).RootElement.GetProperty("text").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_webhook_that_answers_an_error_is_a_failure_with_its_status()
    {
        using var listener = Listen(out var url);
        _ = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            context.Response.StatusCode = 500;
            context.Response.Close();
        });
        using var sender = new AlertSender();

        var result = await sender.SendAsync(new AlertRule { Name = "pager", On = [AlertTrigger.Fatal], WebhookUrl = url }, Notice());

        Assert.False(result.Succeeded);
        Assert.Equal(500, result.StatusCode);
        Assert.Contains("HTTP 500", result.Error);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_webhook_that_never_answers_fails_within_its_timeout()
    {
        // Accepted by the kernel's backlog, never read, never answered.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var sender = new AlertSender();
        var watch = Stopwatch.StartNew();

        var result = await sender.SendAsync(new AlertRule { Name = "pager", On = [AlertTrigger.Fatal], WebhookUrl = $"http://127.0.0.1:{port}/", TimeoutMs = 500 }, Notice());

        Assert.False(result.Succeeded);
        Assert.Null(result.StatusCode);
        Assert.Contains("did not answer within 500 ms", result.Error);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_command_gets_the_notice_on_stdin_and_in_its_environment()
    {
        var stdin = _dir.File("stdin.json");
        var environment = _dir.File("env.json");
        using var sender = new AlertSender();
        var rule = new AlertRule { Name = "pager", On = [AlertTrigger.Fatal], Command = ["/bin/sh", "-c", $"cat > '{stdin}'; printf %s \"$STABILITY_ALERT\" > '{environment}'"] };

        var result = await sender.SendAsync(rule, Notice());

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("pager", JsonDocument.Parse(File.ReadAllText(stdin)).RootElement.GetProperty("rule").GetString());
        Assert.Equal(File.ReadAllText(stdin), File.ReadAllText(environment));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_failing_a_missing_or_a_hanging_command_is_reported_not_thrown()
    {
        using var sender = new AlertSender();
        AlertRule Rule(params string[] command) => new() { Name = "pager", On = [AlertTrigger.Fatal], Command = command, TimeoutMs = 500 };

        var failed = await sender.SendAsync(Rule("/bin/sh", "-c", "echo nope >&2; exit 4"), Notice());
        var missing = await sender.SendAsync(Rule("/no/such/program"), Notice());
        var watch = Stopwatch.StartNew();
        var hanging = await sender.SendAsync(Rule("/bin/sleep", "60"), Notice());

        Assert.Equal((false, 4), (failed.Succeeded, failed.ExitCode));
        Assert.Contains("nope", failed.Error);
        Assert.False(missing.Succeeded);
        Assert.Contains("could not be started", missing.Error);
        Assert.False(hanging.Succeeded);
        Assert.Contains("was killed", hanging.Error);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
    }

    private static HttpListener Listen(out string url)
    {
        for (var attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            url = $"http://127.0.0.1:{port}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            try
            {
                listener.Start();
                return listener;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }
}
