using System.Text;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>An event's severity is a type in the code and the same three words on the wire; a word from a newer writer costs no event.</summary>
public sealed class EventSeverityTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(EventSeverity.Info, "info")]
    [InlineData(EventSeverity.Warning, "warning")]
    [InlineData(EventSeverity.Error, "error")]
    public void A_severity_is_written_as_the_word_it_always_was(EventSeverity severity, string word)
    {
        var json = Encoding.UTF8.GetString(JsonSerializerUtf8(new StabilityEvent { Type = "t", Severity = severity }));

        Assert.Contains($"\"severity\":\"{word}\"", json, StringComparison.Ordinal);
        Assert.Equal(word, StatusJson.WireName(severity));
    }

    [Fact(Timeout = 60_000)]
    public void An_event_with_a_severity_this_version_does_not_know_reads_as_info_and_keeps_the_rest()
    {
        using var dir = new TempDirectory();
        var path = dir.File("events.jsonl");
        File.WriteAllText(path,
            """
            {"time":"2026-01-01T00:00:00+00:00","service":"svc","type":"started","severity":"warning","message":"known","pid":1}
            {"time":"2026-01-01T00:00:01+00:00","service":"svc","type":"audit","severity":"critical","message":"from a newer writer","pid":2}

            """);

        var read = new JsonLinesLog<StabilityEvent>(path).ReadAll();

        Assert.Equal([EventSeverity.Warning, EventSeverity.Info], read.Records.Select(e => e.Severity));
        Assert.Equal("from a newer writer", read.Records[1].Message);
        Assert.Equal(0, read.SkippedLines);
    }

    private static byte[] JsonSerializerUtf8(StabilityEvent e) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(e, StatusJson.TypeInfo<StabilityEvent>());
}
