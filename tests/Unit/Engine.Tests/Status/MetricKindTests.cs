using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>A metric record's kind is a type in the code and the same words in metrics.jsonl; a word from a newer writer costs no line.</summary>
public sealed class MetricKindTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(MetricKind.Epoch, "epoch")]
    [InlineData(MetricKind.Step, "step")]
    [InlineData(MetricKind.Mixed, "mixed")]
    [InlineData(MetricKind.Unknown, "unknown")]
    public void A_kind_is_written_as_the_word_it_always_was_and_reads_back(MetricKind kind, string word)
    {
        var json = JsonSerializer.Serialize(new MetricRecord { Kind = kind }, StatusJson.TypeInfo<MetricRecord>());

        Assert.Contains($"\"kind\":\"{word}\"", json, StringComparison.Ordinal);
        Assert.Equal(kind, JsonSerializer.Deserialize(json, StatusJson.TypeInfo<MetricRecord>())!.Kind);
        Assert.Equal(word, StatusJson.WireName(kind));
    }

    [Fact(Timeout = 120_000)]
    public void A_record_of_a_kind_this_version_does_not_know_or_of_none_reads_as_unknown_and_keeps_its_figures()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.jsonl");
        File.WriteAllText(path,
            """
            {"time":"2026-01-01T00:00:00+00:00","run_id":"r","kind":"epoch","epoch":1,"step":10,"val_loss":0.5}
            {"time":"2026-01-01T00:00:01+00:00","run_id":"r","kind":"eval","epoch":1,"step":10,"val_loss":0.25}
            {"time":"2026-01-01T00:00:02+00:00","run_id":"r","epoch":1,"step":11,"train_loss":0.75}

            """);

        var read = new JsonLinesLog<MetricRecord>(path).ReadAll();

        Assert.Equal(0, read.SkippedLines);
        // A record without a kind is read with the enum's zero, Unknown (as it read null when the kind was a string):
        // the generated metadata sets a missing init-only property to its default, not to the initializer's value.
        Assert.Equal([MetricKind.Epoch, MetricKind.Unknown, MetricKind.Unknown], read.Records.Select(r => r.Kind));
        Assert.Equal(0.25, read.Records[1].ValLoss);
    }
}
