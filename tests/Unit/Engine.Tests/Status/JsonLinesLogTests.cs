using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

public sealed class JsonLinesLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static StabilityEvent Event(int i) => new()
    {
        Time = DateTimeOffset.UnixEpoch.AddSeconds(i),
        Type = "started",
        Service = "svc",
        Message = $"event {i}",
        Data = new Dictionary<string, string> { ["i"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    [Fact(Timeout = 120_000)]
    public void Appended_records_read_back_in_order_one_line_each()
    {
        var log = new JsonLinesLog<StabilityEvent>(_dir.File("events.jsonl"));
        for (var i = 0; i < 5; i++)
        {
            log.Append(Event(i));
        }

        var result = log.ReadAll();

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"event {i}"), result.Records.Select(r => r.Message));
        Assert.Equal(5, File.ReadAllLines(log.Path).Length);
        Assert.Equal(0, result.SkippedLines);
        Assert.False(result.IncompleteTail);
        Assert.Contains("\"service\":\"svc\"", File.ReadAllText(log.Path), StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_torn_last_line_is_skipped_and_the_next_append_starts_a_fresh_line()
    {
        var log = new JsonLinesLog<StabilityEvent>(_dir.File("events.jsonl"));
        log.Append(Event(1));
        File.AppendAllText(log.Path, "{\"time\":\"2026-01-01T00:00:00Z\",\"type\":\"exi");

        var torn = log.ReadAll();
        log.Append(Event(2));
        var after = log.ReadAll();

        Assert.Single(torn.Records);
        Assert.True(torn.IncompleteTail);
        Assert.Equal(["event 1", "event 2"], after.Records.Select(r => r.Message));
        Assert.Equal(1, after.SkippedLines);
        Assert.False(after.IncompleteTail);
    }

    [Fact(Timeout = 120_000)]
    public void Garbage_lines_are_skipped_and_counted()
    {
        var log = new JsonLinesLog<StabilityEvent>(_dir.File("events.jsonl"));
        log.Append(Event(1));
        File.AppendAllText(log.Path, "not json\n\n{\"type\":5}\n");
        log.Append(Event(2));

        var result = log.ReadAll();

        Assert.Equal(2, result.Records.Count);
        Assert.Equal(2, result.SkippedLines);
    }

    [Fact(Timeout = 120_000)]
    public void Rotation_keeps_the_log_within_its_bound_and_keeps_the_newest_records()
    {
        var options = new JsonLinesOptions { MaxFileBytes = 4096, RetainedFiles = 2 };
        var log = new JsonLinesLog<StabilityEvent>(_dir.File("events.jsonl"), options);
        for (var i = 0; i < 500; i++)
        {
            log.Append(Event(i));
        }

        var files = log.ExistingFiles();
        var total = files.Sum(f => new FileInfo(f).Length);
        var records = log.ReadAll().Records;

        Assert.Equal(3, files.Count);
        Assert.False(File.Exists(log.RotatedPath(3)));
        Assert.True(total <= 3 * options.MaxFileBytes, $"{total} bytes on disk");
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= options.MaxFileBytes));
        Assert.Equal("event 499", records[^1].Message);
        // Oldest first and contiguous: rotation drops whole old files, never records in the middle.
        var indices = records.Select(r => int.Parse(r.Data!["i"], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(indices[0], indices.Count), indices);
    }

    [Fact(Timeout = 120_000)]
    public void Incremental_reads_return_only_new_records_and_restart_after_rotation()
    {
        var log = new JsonLinesLog<StabilityEvent>(_dir.File("events.jsonl"), new JsonLinesOptions { MaxFileBytes = 2048, RetainedFiles = 1 });
        log.Append(Event(1));
        var first = log.ReadFrom(0);
        log.Append(Event(2));
        var second = log.ReadFrom(first.EndOffset);

        Assert.Equal(["event 1"], first.Records.Select(r => r.Message));
        Assert.Equal(["event 2"], second.Records.Select(r => r.Message));

        for (var i = 3; i < 40; i++)
        {
            log.Append(Event(i));
        }

        var afterRotation = log.ReadFrom(second.EndOffset + 100_000);
        Assert.NotEmpty(afterRotation.Records);
        Assert.Equal("event 39", afterRotation.Records[^1].Message);
    }

    [Fact(Timeout = 120_000)]
    public void Concurrent_appenders_never_interleave_records()
    {
        var path = _dir.File("metrics.jsonl");
        Parallel.For(0, 4, t =>
        {
            var log = new JsonLinesLog<MetricRecord>(path);
            for (var i = 0; i < 200; i++)
            {
                log.Append(new MetricRecord { Epoch = t, Step = i, RunId = new string((char)('a' + t), 300) });
            }
        });

        var result = new JsonLinesLog<MetricRecord>(path).ReadAll();

        Assert.Equal(800, result.Records.Count);
        Assert.Equal(0, result.SkippedLines);
        Assert.All(result.Records, r => Assert.Equal(new string((char)('a' + r.Epoch), 300), r.RunId));
        for (var t = 0; t < 4; t++)
        {
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), result.Records.Where(r => r.Epoch == t).Select(r => r.Step));
        }
    }

    [Fact(Timeout = 120_000)]
    public void Reading_a_log_that_does_not_exist_yields_nothing()
    {
        var result = new JsonLinesLog<StabilityEvent>(_dir.File("none.jsonl")).ReadAll();

        Assert.Empty(result.Records);
        Assert.Equal(0, result.EndOffset);
    }
}
