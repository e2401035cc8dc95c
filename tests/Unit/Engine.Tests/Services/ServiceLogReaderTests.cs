using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>Get-StabilityLog -Pattern -Wait (issue #24): a follow writes what the search finds, then only new lines that match.</summary>
public sealed class ServiceLogReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-logfollow");
    private readonly StateDirectory _state;

    public ServiceLogReaderTests()
    {
        _state = StateDirectory.Open(_dir.File("state"));
        Directory.CreateDirectory(_state.ServiceLogDirectory("svc"));
    }

    public void Dispose() => _dir.Dispose();

    private string Log => ServiceLogReader.LogPath(_state, "svc", ServiceLogStream.Stdout);

    [Fact(Timeout = 60_000)]
    public async Task A_follow_with_a_pattern_writes_the_old_matches_then_only_new_lines_that_match()
    {
        File.AppendAllLines(Log, ["old ERROR a", "old fine"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var query = new ServiceLogQuery { Pattern = ServiceLogQuery.ParsePattern("error") };

        await using var lines = new ServiceLogReader(_state).FollowAsync("svc", query, ServiceLogStream.Stdout, timeout.Token).GetAsyncEnumerator(timeout.Token);

        Assert.True(await lines.MoveNextAsync());
        Assert.Equal("old ERROR a", lines.Current);
        File.AppendAllLines(Log, ["new fine", "new ERROR b"]);
        Assert.True(await lines.MoveNextAsync());
        Assert.Equal("new ERROR b", lines.Current);
    }

    [Fact(Timeout = 60_000)]
    public void A_follow_with_an_end_is_refused()
    {
        var query = new ServiceLogQuery { Until = DateTimeOffset.UtcNow };

        var error = Assert.Throws<ArgumentException>(() => new ServiceLogReader(_state).FollowAsync("svc", query));

        Assert.Contains("leave out -Until", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public void A_search_without_a_filter_is_the_plain_tail()
    {
        File.AppendAllLines(Log, ["a", "b", "c"]);

        Assert.Equal(["b", "c"], new ServiceLogReader(_state).Search("svc", new ServiceLogQuery { Tail = 2 }));
        Assert.Equal(["a", "b", "c"], new ServiceLogReader(_state).Search("svc", new ServiceLogQuery()));
    }

    [Fact(Timeout = 60_000)]
    public void Reading_after_an_offset_gives_whole_lines_and_leaves_a_partial_one_for_the_next_read()
    {
        File.WriteAllText(Log, "one\ntwo\r\nthr");

        var first = ServiceLogReader.ReadAfter(Log, 0, 1024);
        File.AppendAllText(Log, "ee\n");
        var second = ServiceLogReader.ReadAfter(Log, first.NextOffset, 1024);

        Assert.Equal(["one", "two"], first.Lines);
        Assert.Equal("one\ntwo\r\n".Length, first.NextOffset);
        Assert.Equal(["three"], second.Lines);
        Assert.Equal(new FileInfo(Log).Length, second.NextOffset);
        Assert.False(second.Restarted);
        Assert.Empty(ServiceLogReader.ReadAfter(Log, second.NextOffset, 1024).Lines);
    }

    [Fact(Timeout = 60_000)]
    public void Reading_far_behind_gives_the_newest_whole_lines_and_counts_what_it_passed_over()
    {
        File.WriteAllText(Log, string.Concat(Enumerable.Range(0, 100).Select(i => $"line {i:000}\n")));

        // 9 bytes a line: the last 30 bytes hold three whole lines and the tail of one before them.
        var chunk = ServiceLogReader.ReadAfter(Log, 0, 30);

        Assert.Equal(["line 097", "line 098", "line 099"], chunk.Lines);
        Assert.Equal(97 * 9, chunk.SkippedBytes);
        Assert.Equal(900, chunk.NextOffset);
    }

    [Fact(Timeout = 60_000)]
    public void A_file_shorter_than_the_offset_was_rotated_and_is_read_from_its_start()
    {
        File.WriteAllText(Log, "fresh\n");

        var chunk = ServiceLogReader.ReadAfter(Log, 5000, 1024);

        Assert.True(chunk.Restarted);
        Assert.Equal(["fresh"], chunk.Lines);
        Assert.Empty(ServiceLogReader.ReadAfter(Log + ".none", 0, 1024).Lines);
    }

    [Fact(Timeout = 60_000)]
    public void Reading_after_an_offset_never_goes_through_a_link()
    {
        File.CreateSymbolicLink(Log, "/etc/passwd");

        Assert.Throws<StabilityTools.Engine.Errors.UnsafeFileException>(() => ServiceLogReader.ReadAfter(Log, 0, 1024));
    }
}
