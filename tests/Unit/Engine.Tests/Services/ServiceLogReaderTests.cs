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
}
