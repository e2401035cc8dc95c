using System.Security.Cryptography;
using System.Text;
using StabilityTools.Dashboard.Data.History;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Data.History;

/// <summary>
/// A run's saved history index (<c>runs/&lt;id&gt;/metrics.index</c>) over real logs written by the engine's writers: a new
/// index instance (a dashboard that started again) starts from it and reads only what was appended, and an index that is
/// damaged, stale, of another log or behind a link is never believed: the answer is always the whole log's.
/// </summary>
public sealed class HistoryIndexTests : IDisposable
{
    // About 190 bytes a record: 20,000 records are well past the megabyte after which an index is saved.
    private const int Records = 20_000;
    private readonly SampleState _sample = new();
    private readonly RunPaths _run;

    public HistoryIndexTests()
    {
        _run = _sample.State.EnsureRun("run-long");
        SampleRuns.AppendSteps(_sample.State, "run-long", Records, spikeAt: 12_345);
    }

    public void Dispose() => _sample.Dispose();

    private RunHistory Indexed() => new(_run.MetricsLogPath, JsonLinesOptions.Default.RetainedFiles, _run.HistoryIndexPath);

    // The answer of a history read without any index: the whole log, read by the same code.
    private string Scanned() => Describe(new RunHistory(_run.MetricsLogPath, JsonLinesOptions.Default.RetainedFiles));

    /// <summary>Everything a query can see: every metric of both kinds at the most points served, with counts and the newest value.</summary>
    private static string Describe(RunHistory history) => history.Read(h =>
    {
        var text = new StringBuilder().Append($"first={h.FirstTicks} skipped={h.SkippedLines}\n");
        foreach (var (kind, set) in new[] { ("epoch", h.Epochs), ("step", h.Steps) })
        {
            text.Append($"{kind} records={set.Records}\n");
            foreach (var (name, count, last) in set.Metrics.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                text.Append($"{kind}.{name} count={count} last={last} points=").AppendJoin(';', set.Points(name, 2048)).Append('\n');
            }
        }

        return text.ToString();
    });

    private long LogLength => new FileInfo(_run.MetricsLogPath).Length;

    [Fact(Timeout = 120_000)]
    public void A_new_instance_starts_from_the_saved_index_and_reads_only_the_lines_appended_since()
    {
        Describe(Indexed());
        Assert.True(File.Exists(_run.HistoryIndexPath));
        var indexed = LogLength;
        SampleRuns.AppendSteps(_sample.State, "run-long", 3_000, firstStep: Records);

        var restarted = Indexed();
        var answer = Describe(restarted);

        Assert.Equal(indexed, restarted.LoadedFromIndex);
        Assert.Equal(LogLength - indexed, restarted.BytesRead);
        Assert.Equal(Scanned(), answer);
        Assert.Contains("Value = 1000,", answer, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void The_index_is_owner_only()
    {
        Describe(Indexed());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_run.HistoryIndexPath));
    }

    [Theory(Timeout = 120_000)]
    [InlineData("a flipped byte")]
    [InlineData("cut in half")]
    [InlineData("empty")]
    [InlineData("random bytes")]
    [InlineData("another version, checksum recomputed")]
    [InlineData("ends early, checksum recomputed")]
    [InlineData("bytes after its end, checksum recomputed")]
    public void A_damaged_index_is_never_believed_and_is_rewritten(string damage)
    {
        Describe(Indexed());
        var bytes = File.ReadAllBytes(_run.HistoryIndexPath);
        File.WriteAllBytes(_run.HistoryIndexPath, Damage(bytes, damage));

        var restarted = Indexed();

        Assert.Equal(Scanned(), Describe(restarted));
        Assert.Equal(0, restarted.LoadedFromIndex);
        Assert.Equal(LogLength, restarted.BytesRead);
        var next = Indexed();
        Describe(next);
        Assert.Equal(LogLength, next.LoadedFromIndex);
    }

    private static byte[] Damage(byte[] index, string damage)
    {
        var body = index[..^SHA256.HashSizeInBytes];
        switch (damage)
        {
            case "a flipped byte":
                index[index.Length / 2] ^= 0x10;
                return index;
            case "cut in half":
                return index[..(index.Length / 2)];
            case "empty":
                return [];
            case "random bytes":
                return RandomNumberGenerator.GetBytes(index.Length);
            case "another version, checksum recomputed":
                // The format version follows the 6-byte magic.
                BitConverter.GetBytes(HistoryIndexFile.FormatVersion + 1).CopyTo(body, 6);
                return Sealed(body);
            case "ends early, checksum recomputed":
                return Sealed(body[..^100]);
            default:
                return Sealed([.. body, 0, 0, 0, 0]);
        }
    }

    private static byte[] Sealed(byte[] body) => [.. body, .. SHA256.HashData(body)];

    [Fact(Timeout = 120_000)]
    public void An_index_of_a_log_that_was_rewritten_since_is_rebuilt_from_the_new_log()
    {
        Describe(Indexed());
        // The log written again, longer: the same first lines (so the same start), but other ones where the index ended.
        File.Delete(_run.MetricsLogPath);
        SampleRuns.AppendSteps(_sample.State, "run-long", Records - 1_000);
        SampleRuns.AppendSteps(_sample.State, "run-long", 6_000, firstStep: Records, spikeAt: Records + 10);

        var restarted = Indexed();

        Assert.Equal(Scanned(), Describe(restarted));
        Assert.Equal(0, restarted.LoadedFromIndex);
    }

    [Fact(Timeout = 120_000)]
    public void An_index_of_a_log_cut_shorter_since_is_rebuilt()
    {
        Describe(Indexed());
        var lines = File.ReadAllLines(_run.MetricsLogPath);
        File.WriteAllLines(_run.MetricsLogPath, lines[..(lines.Length / 2)]);

        var restarted = Indexed();

        Assert.Equal(Scanned(), Describe(restarted));
        Assert.Equal(0, restarted.LoadedFromIndex);
    }

    [Fact(Timeout = 120_000)]
    public void An_index_of_a_log_rotated_since_is_rebuilt_from_the_rotated_files_and_the_new_one()
    {
        Describe(Indexed());
        LogRotation.Shift(_run.MetricsLogPath, JsonLinesOptions.Default.RetainedFiles);
        SampleRuns.AppendSteps(_sample.State, "run-long", 500, firstStep: Records);

        var restarted = Indexed();
        var answer = Describe(restarted);

        Assert.Equal(0, restarted.LoadedFromIndex);
        Assert.Equal(Scanned(), answer);
        Assert.Contains($"step records={Records + 500}", answer, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void An_index_behind_a_link_is_not_read_and_the_link_is_replaced_not_written_through()
    {
        Describe(Indexed());
        // A whole, valid index of this very log, but reached through a link someone put at the index's name.
        var elsewhere = Path.Combine(_sample.Root, "elsewhere.index");
        File.Move(_run.HistoryIndexPath, elsewhere);
        var planted = File.ReadAllBytes(elsewhere);
        File.CreateSymbolicLink(_run.HistoryIndexPath, elsewhere);

        var restarted = Indexed();

        Assert.Equal(Scanned(), Describe(restarted));
        Assert.Equal(0, restarted.LoadedFromIndex);
        Assert.Equal(planted, File.ReadAllBytes(elsewhere));
        Assert.Null(new FileInfo(_run.HistoryIndexPath).LinkTarget);
    }

    [Fact(Timeout = 120_000)]
    public void An_index_owned_by_someone_else_is_not_believed_nor_replaced()
    {
        Assert.SkipUnless(UserAccount.IsRoot, "Giving a file to another user (chown) takes root.");
        Describe(Indexed());
        // A whole, valid index of this very log, but another user's (the run folder is not theirs: it was never handed over).
        TestFiles.Chown(_run.HistoryIndexPath, 65534);
        var planted = File.ReadAllBytes(_run.HistoryIndexPath);

        var restarted = Indexed();

        Assert.Equal(Scanned(), Describe(restarted));
        Assert.Equal(0, restarted.LoadedFromIndex);
        Assert.Equal(planted, File.ReadAllBytes(_run.HistoryIndexPath));
    }

    [Fact(Timeout = 120_000)]
    public void A_short_log_is_read_whole_and_gets_no_index()
    {
        _sample.State.EnsureRun("run-short");
        SampleRuns.AppendSteps(_sample.State, "run-short", 100);
        var run = _sample.State.Run("run-short");

        var history = new RunHistory(run.MetricsLogPath, JsonLinesOptions.Default.RetainedFiles, run.HistoryIndexPath);
        Describe(history);

        Assert.False(File.Exists(run.HistoryIndexPath));
        Assert.Equal(new FileInfo(run.MetricsLogPath).Length, history.BytesRead);
    }
}
