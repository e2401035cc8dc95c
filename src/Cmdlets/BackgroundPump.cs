using System.Collections.Concurrent;

namespace StabilityTools.Cmdlets;

/// <summary>
/// The one way a cmdlet runs an engine call in the background while the pipeline thread writes (only that thread may
/// call <c>Write*</c>): the call reports items through an <see cref="IProgress{T}"/>; this hands each of them, in
/// order, to <c>onItem</c> on the calling thread, calls <c>onIdle</c> at least every 100 ms while it waits, and
/// returns the call's result (or throws its exception) once every item has been handed over. The call gets the
/// cmdlet's Ctrl+C token.
/// </summary>
internal static class BackgroundPump
{
    private static readonly TimeSpan IdleInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs <paramref name="operation"/> in the background and pumps what it reports on this thread.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static T Run<TItem, T>(
        Func<IProgress<TItem>, CancellationToken, Task<T>> operation,
        Action<TItem> onItem,
        Action? onIdle,
        CancellationToken cancellationToken)
    {
        using var items = new BlockingCollection<TItem>();
        var task = Task.Run(() => operation(new QueueProgress<TItem>(items), cancellationToken), cancellationToken);

        // An item added before the task completed is in the queue once IsCompleted is true, so this hands over all.
        while (!task.IsCompleted || items.Count > 0)
        {
            if (items.TryTake(out var item, IdleInterval))
            {
                onItem(item);
            }

            onIdle?.Invoke();
        }

        return task.GetAwaiter().GetResult();
    }

    private sealed class QueueProgress<TItem>(BlockingCollection<TItem> items) : IProgress<TItem>
    {
        public void Report(TItem value) => items.Add(value);
    }
}
