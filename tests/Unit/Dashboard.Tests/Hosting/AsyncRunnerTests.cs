using Microsoft.Extensions.Logging.Abstractions;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Dashboard.Tests.Hosting;

public sealed class AsyncRunnerTests
{
    private readonly AsyncRunner _runner = new(NullLogger<AsyncRunner>.Instance);

    [Fact(Timeout = 120_000)]
    public async Task A_failing_operation_is_counted_and_wrapped_never_thrown()
    {
        var ok = await _runner.Run("read", () => throw new IOException("disk on fire"), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.False(ok);
        Assert.Equal(1, _runner.FailureCount);
        var failure = Assert.IsType<AsyncOperationException>(_runner.LastFailure);
        Assert.Equal("read", failure.Operation);
        Assert.IsType<IOException>(failure.InnerException);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_operation_that_ignores_its_token_is_abandoned_at_the_timeout()
    {
        using var release = new ManualResetEventSlim();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var ok = await _runner.Run("stuck read", () => release.Wait(TimeSpan.FromSeconds(30)), TimeSpan.FromMilliseconds(200), TestContext.Current.CancellationToken);
        release.Set();

        Assert.False(ok);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(10));
        Assert.Contains("did not finish within 200 ms", _runner.LastFailure!.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task Cancellation_by_the_caller_is_not_a_failure()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _runner.RunAsync("loop", ct => Task.Delay(1000, ct), TimeSpan.FromSeconds(5), cancel.Token));
        Assert.Equal(0, _runner.FailureCount);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_loop_goes_on_after_a_failed_iteration_and_stops_when_cancelled()
    {
        using var stop = new CancellationTokenSource();
        var iterations = 0;

        var loop = _runner.LoopAsync("tick", _ =>
        {
            if (++iterations >= 3)
            {
                stop.Cancel();
            }

            throw new InvalidOperationException("boom");
        }, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5), TimeProvider.System, stop.Token);
        await loop.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.True(iterations >= 3);
        Assert.True(_runner.FailureCount >= 2);
    }
}
