using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>Get-StabilityLog -Pattern -Since -Until (issue #24): searches over real rotated capture files.</summary>
public sealed class ServiceLogSearchTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan H = TimeSpan.FromHours(1);
    private readonly TempDirectory _dir = new("st-logsearch");

    public void Dispose() => _dir.Dispose();

    private string Log => _dir.File("stdout.log");

    /// <summary>
    /// Four generations rotated as the supervisor rotates them (<see cref="LogRotation.Shift"/>): generation g holds
    /// "g&lt;g&gt; line &lt;i&gt;" for i in 1..4, line 2 and 4 saying ERROR, and was last written at T0 + g hours.
    /// </summary>
    private void WriteGenerations()
    {
        for (var g = 1; g <= 4; g++)
        {
            if (g > 1)
            {
                LogRotation.Shift(Log, 5);
            }

            File.AppendAllLines(Log, Enumerable.Range(1, 4).Select(i => i % 2 == 0 ? $"g{g} line {i} ERROR disk" : $"g{g} line {i} ok"));
            File.SetLastWriteTimeUtc(Log, (T0 + g * H).UtcDateTime);
        }

        // Beside the log, never part of it.
        File.AppendAllLines(_dir.File("stdout.log.tmp-42"), ["g9 line 1 ERROR not a log file"]);
    }

    private List<string> Search(ServiceLogQuery query) => [.. ServiceLogSearch.Search(Log, query)];

    [Fact(Timeout = 60_000)]
    public void A_pattern_finds_each_matching_line_once_across_every_rotated_file_oldest_first()
    {
        WriteGenerations();

        var lines = Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("error") });

        Assert.Equal(
            ["g1 line 2 ERROR disk", "g1 line 4 ERROR disk", "g2 line 2 ERROR disk", "g2 line 4 ERROR disk",
             "g3 line 2 ERROR disk", "g3 line 4 ERROR disk", "g4 line 2 ERROR disk", "g4 line 4 ERROR disk"],
            lines);
        Assert.Equal([Log + ".3", Log + ".2", Log + ".1", Log], ServiceLogSearch.Files(Log));
    }

    [Fact(Timeout = 60_000)]
    public void A_tail_with_a_pattern_is_the_last_matching_lines()
    {
        WriteGenerations();

        var lines = Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("line [13] ok$"), Tail = 3 });

        Assert.Equal(["g3 line 3 ok", "g4 line 1 ok", "g4 line 3 ok"], lines);
        Assert.Empty(Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("ok"), Tail = 0 }));
    }

    [Fact(Timeout = 60_000)]
    public void A_case_sensitive_pattern_matches_case()
    {
        WriteGenerations();

        Assert.Empty(Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("error", caseSensitive: true) }));
        Assert.Equal(8, Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("ERROR", caseSensitive: true) }).Count);
    }

    [Fact(Timeout = 60_000)]
    public void Since_and_until_choose_files_by_the_span_they_were_written_in()
    {
        WriteGenerations();

        // g1 was written up to 1 h, g2 from 1 h to 2 h, g3 from 2 h to 3 h, g4 from 3 h to 4 h.
        var late = Search(new ServiceLogQuery { Since = T0 + 2.5 * H });
        Assert.Equal(Enumerable.Range(3, 2).SelectMany(g => Enumerable.Range(1, 4).Select(i => $"g{g} line {i}")), late.Select(l => l[..9]));

        var early = Search(new ServiceLogQuery { Until = T0 + 1.5 * H, Pattern = ServiceLogQuery.ParsePattern("line 1 ") });
        Assert.Equal(["g1 line 1 ok", "g2 line 1 ok"], early);

        Assert.Empty(Search(new ServiceLogQuery { Since = T0 + 5 * H }));
    }

    [Fact(Timeout = 60_000)]
    public void A_timed_line_is_kept_only_inside_the_window_and_the_lines_after_it_go_with_it()
    {
        File.AppendAllLines(Log,
        [
            "started without a time",
            "2026-11-01T00:10:00Z first",
            "  at trace of first",
            "[2026-11-01T00:20:00.5+00:00] second",
            "  at trace of second",
            """{"@t":"2026-11-01T00:30:00.1234567Z","@mt":"third"}""",
        ]);
        File.SetLastWriteTimeUtc(Log, (T0 + H).UtcDateTime);

        var lines = Search(new ServiceLogQuery { Since = T0.AddMinutes(15), Until = T0.AddMinutes(25) });

        Assert.Equal(["started without a time", "[2026-11-01T00:20:00.5+00:00] second", "  at trace of second"], lines);
    }

    [Fact(Timeout = 60_000)]
    public void A_line_time_is_read_from_the_usual_formats()
    {
        Assert.Equal(T0.AddMinutes(10), ServiceLogSearch.LineTime("2026-11-01T00:10:00Z x"));
        Assert.Equal(T0.AddMinutes(30).AddTicks(1234567), ServiceLogSearch.LineTime("""{"@t":"2026-11-01T00:30:00.1234567Z","@mt":"m"}"""));
        // Python's logging: local time, a comma before the milliseconds.
        var local = new DateTimeOffset(new DateTime(2026, 11, 1, 0, 10, 0, 123, DateTimeKind.Local));
        Assert.Equal(local, ServiceLogSearch.LineTime("2026-11-01 00:10:00,123 INFO step 5"));
        Assert.Null(ServiceLogSearch.LineTime("epoch 3 loss 0.25"));
    }

    [Fact(Timeout = 60_000)]
    public void A_bad_pattern_is_an_error_that_names_the_parameter_and_the_fix()
    {
        var error = Assert.Throws<ArgumentException>(() => ServiceLogQuery.ParsePattern("disk [full"));

        Assert.Equal("Pattern", error.ParamName);
        Assert.StartsWith("-Pattern 'disk [full' is not a valid regular expression", error.Message, StringComparison.Ordinal);
        Assert.Contains("[regex]::Escape()", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public void A_window_that_ends_before_it_starts_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => ServiceLogSearch.Search(Log, new ServiceLogQuery { Since = T0 + H, Until = T0 }));

        Assert.Contains("-Until", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public void A_missing_log_has_no_lines()
    {
        Assert.Empty(Search(new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("x") }));
    }
}
