using System.Threading.Channels;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// One listener's pending changes. Publishing only sets topic bits and wakes the listener, so a slow or
/// stuck client never blocks the refresh loop and never makes memory grow: its changes coalesce.
/// </summary>
internal sealed class ChangeSubscription : IDisposable
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Action<ChangeSubscription> _unsubscribe;
    private int _pending;

    public ChangeSubscription(Action<ChangeSubscription> unsubscribe) => _unsubscribe = unsubscribe;

    internal void Publish(DashboardTopic topics)
    {
        Interlocked.Or(ref _pending, (int)topics);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Waits for changes, at most <paramref name="timeout"/>; returns the topics changed since the last call (None on timeout).</summary>
    public async Task<DashboardTopic> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = (DashboardTopic)Interlocked.Exchange(ref _pending, 0);
        if (pending != DashboardTopic.None)
        {
            _wake.Reader.TryRead(out _);
            return pending;
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the caller sends a keep-alive.
        }

        return (DashboardTopic)Interlocked.Exchange(ref _pending, 0);
    }

    public void Dispose() => _unsubscribe(this);
}
