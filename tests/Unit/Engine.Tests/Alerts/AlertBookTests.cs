using System.Text.Json;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Alerts;

public sealed class AlertBookTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StateDirectory _state;

    public AlertBookTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose() => _dir.Dispose();

    private static AlertRule Webhook(string name = "pager") => new()
    {
        Name = name, Scope = "training", On = [AlertTrigger.Fatal, AlertTrigger.Restart], RestartsPerHour = 3,
        WebhookUrl = "https://hooks.example.com/services/T0/B0/secret", Format = AlertFormat.Slack, MinIntervalMs = 60_000,
    };

    [Fact(Timeout = 120_000)]
    public void A_rule_round_trips_through_alerts_json_with_its_envelope_and_snake_case_words()
    {
        var book = new AlertBook(_state);
        book.Set(Webhook());
        book.Set(new AlertRule { Name = "ops", On = [AlertTrigger.HangDetected], Command = ["/bin/true", "x"] });

        var again = new AlertBook(_state).Get();
        Assert.Equal(["pager", "ops"], again.Select(r => r.Name));
        Assert.Equal(Webhook() with { On = again[0].On }, again[0]);
        Assert.Equal([AlertTrigger.Fatal, AlertTrigger.Restart], again[0].On);
        Assert.Equal("*", again[1].Scope);

        using var json = JsonDocument.Parse(File.ReadAllText(AlertBook.PathIn(_state)));
        Assert.Equal("alert_rules/1", json.RootElement.GetProperty("schema").GetString());
        var first = json.RootElement.GetProperty("rules")[0];
        Assert.Equal("slack", first.GetProperty("format").GetString());
        Assert.Equal(["fatal", "restart"], first.GetProperty("on").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(3, first.GetProperty("restarts_per_hour").GetInt32());
        Assert.Equal("hang_detected", json.RootElement.GetProperty("rules")[1].GetProperty("on")[0].GetString());
    }

    [Fact(Timeout = 120_000)]
    public void Setting_a_rule_of_the_same_name_replaces_it_and_remove_takes_it_out()
    {
        var book = new AlertBook(_state);
        book.Set(Webhook());
        book.Set(Webhook() with { MinIntervalMs = 5 });

        Assert.Equal(5, Assert.Single(book.Get()).MinIntervalMs);
        Assert.True(book.Remove("pager"));
        Assert.False(book.Remove("pager"));
        Assert.Empty(book.Get());
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_document_has_no_rules_and_a_corrupt_one_is_refused_and_left_alone()
    {
        var book = new AlertBook(_state);
        Assert.Empty(book.Get());

        File.WriteAllText(book.Path, "{ not json");
        Assert.Throws<CorruptDocumentException>(() => book.Get());
        Assert.Throws<CorruptDocumentException>(() => book.Set(Webhook()));
        Assert.Equal("{ not json", File.ReadAllText(book.Path));
    }

    public static TheoryData<AlertRule, string> BadRules() => new()
    {
        { Webhook() with { Name = "Bad Name" }, "name" },
        { Webhook() with { Scope = "No Such/Service" }, "scope" },
        { Webhook() with { On = [] }, "on" },
        { Webhook() with { On = [(AlertTrigger)42] }, "on" },
        { Webhook() with { WebhookUrl = "file:///etc/passwd" }, "webhook_url" },
        { Webhook() with { WebhookUrl = "ftp://example.com/x" }, "webhook_url" },
        { Webhook() with { WebhookUrl = "not a url" }, "webhook_url" },
        { Webhook() with { WebhookUrl = null }, "webhook_url" },
        { Webhook() with { Command = ["/bin/true"] }, "command" },
        { Webhook() with { WebhookUrl = null, Command = [], Format = AlertFormat.Json }, "command" },
        { Webhook() with { RestartsPerHour = -1 }, "restarts_per_hour" },
        { Webhook() with { On = [AlertTrigger.Fatal] }, "restarts_per_hour" },
        { Webhook() with { MinIntervalMs = -1 }, "min_interval_ms" },
        { Webhook() with { TimeoutMs = 10 }, "timeout_ms" },
        { Webhook() with { WebhookUrl = null, Command = ["/bin/true"] }, "format" },
        { Webhook() with { On = [AlertTrigger.LossRising], RestartsPerHour = 0, RisingEpochs = 0 }, "rising_epochs" },
        { Webhook() with { RisingEpochs = 3 }, "rising_epochs" },
        { Webhook() with { On = [AlertTrigger.ThroughputLow], RestartsPerHour = 0, ThroughputFraction = 1.5 }, "throughput_fraction" },
        { Webhook() with { On = [AlertTrigger.ThroughputLow], RestartsPerHour = 0, ThroughputFraction = double.NaN }, "throughput_fraction" },
        { Webhook() with { ThroughputFraction = 0.5 }, "throughput_fraction" },
        { Webhook() with { On = [AlertTrigger.NoProgress], RestartsPerHour = 0, NoProgressMs = 10 }, "no_progress_ms" },
        { Webhook() with { NoProgressMs = 60_000 }, "no_progress_ms" },
        { Webhook() with { On = [AlertTrigger.DiskFull], RestartsPerHour = 0, DiskFreePercent = 0 }, "disk_free_percent" },
        { Webhook() with { On = [AlertTrigger.DiskFull], RestartsPerHour = 0, DiskFreePercent = 101 }, "disk_free_percent" },
        { Webhook() with { DiskFreePercent = 5 }, "disk_free_percent" },
    };

    [Fact(Timeout = 120_000)]
    public void A_condition_rule_round_trips_with_its_keys_in_snake_case_and_defaults_left_out_as_null()
    {
        var rule = new AlertRule
        {
            Name = "trends", On = [AlertTrigger.LossRising, AlertTrigger.ThroughputLow, AlertTrigger.NoProgress, AlertTrigger.DiskFull],
            RisingEpochs = 4, ThroughputFraction = 0.25, NoProgressMs = 90_000, WebhookUrl = "http://127.0.0.1:9/",
        };
        var book = new AlertBook(_state);
        book.Set(rule);

        var stored = book.Get()[0];
        Assert.Equal(rule with { On = stored.On }, stored);
        Assert.Null(stored.DiskFreePercent);
        using var json = JsonDocument.Parse(File.ReadAllText(book.Path));
        var written = json.RootElement.GetProperty("rules")[0];
        Assert.Equal(["loss_rising", "throughput_low", "no_progress", "disk_full"], written.GetProperty("on").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(4, written.GetProperty("rising_epochs").GetInt32());
        Assert.Equal(0.25, written.GetProperty("throughput_fraction").GetDouble());
        Assert.Equal(90_000, written.GetProperty("no_progress_ms").GetInt64());
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(BadRules))]
    public void A_bad_rule_is_refused_naming_its_key_and_nothing_is_written(AlertRule rule, string key)
    {
        var book = new AlertBook(_state);
        var ex = Assert.Throws<ConfigurationException>(() => book.Set(rule));

        Assert.Contains(ex.Problems, p => p.Key == key);
        Assert.False(File.Exists(book.Path));
    }

    [Fact(Timeout = 120_000)]
    public void Every_problem_of_a_rule_is_reported_together()
    {
        var ex = Assert.Throws<ConfigurationException>(() => AlertBook.Validate(new AlertRule { Name = "", On = [], WebhookUrl = "gopher://x", TimeoutMs = 0 }));

        Assert.Equal(["name", "on", "webhook_url", "timeout_ms"], ex.Problems.Select(p => p.Key));
    }
}
