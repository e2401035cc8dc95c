using System.Diagnostics;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>Polls a condition with a deadline instead of sleeping for a guessed time.</summary>
internal static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        T? last = default;
        while (clock.Elapsed < timeout)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last seen: {last}");
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(condition()), v => v, timeout, what);
}
