using Microsoft.Extensions.Logging;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Dashboard.Hosting;

/// <summary>
/// The seed's AsyncHandler as one small helper: runs an operation with a timeout, and turns a failure or
/// a timeout into a logged, counted <see cref="AsyncOperationException"/> instead of an exception that
/// could reach the host. Cancellation by the caller's token is not a failure. Thread-safe.
/// </summary>
internal sealed class AsyncRunner(ILogger<AsyncRunner> logger)
{
    private long _failures;
    private AsyncOperationException? _lastFailure;

    /// <summary>Failures (including timeouts) since start.</summary>
    public long FailureCount => Interlocked.Read(ref _failures);

    /// <summary>The most recent failure, when any.</summary>
    public AsyncOperationException? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Runs <paramref name="operation"/>; true when it completed, false when it failed or timed out (logged and counted).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> RunAsync(string name, Func<CancellationToken, Task> operation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            // WaitAsync bounds the wait even for an operation that ignores its token (a read stuck on a
            // dead network file system): the caller moves on, the stuck task finishes or not on its own.
            await operation(limit.Token).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            Fail(new AsyncOperationException(name, $"'{name}' did not finish within {timeout.TotalMilliseconds:0} ms; it will be retried.", ex));
            return false;
        }
        catch (Exception ex)
        {
            Fail(new AsyncOperationException(name, $"'{name}' failed: {ex.Message}", ex));
            return false;
        }
    }

    /// <summary>Runs a synchronous <paramref name="operation"/> on the thread pool under the same rules.</summary>
    public Task<bool> Run(string name, Action operation, TimeSpan timeout, CancellationToken cancellationToken) =>
        RunAsync(name, _ => Task.Run(operation, CancellationToken.None), timeout, cancellationToken);

    /// <summary>
    /// Runs <paramref name="iteration"/> every <paramref name="interval"/> until <paramref name="cancellationToken"/>
    /// is cancelled; a failed iteration is logged and counted and the loop goes on.
    /// </summary>
    public async Task LoopAsync(string name, Func<CancellationToken, Task> iteration, TimeSpan interval, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                await RunAsync(name, iteration, timeout, cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    private void Fail(AsyncOperationException failure)
    {
        Interlocked.Increment(ref _failures);
        Volatile.Write(ref _lastFailure, failure);
        logger.LogWarning(failure.InnerException, "{Message}", failure.Message);
    }
}
