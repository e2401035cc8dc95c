using Microsoft.Extensions.Hosting;
using StabilityTools.Dashboard.Hosting;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// Keeps <see cref="DashboardData"/> current: refreshes dirty topics as soon as the watcher marks them, and
/// marks everything dirty every poll interval (the fallback where watches do not work, and how staleness
/// is noticed). Both loops are cancellable and every iteration is bounded by the operation timeout.
/// </summary>
internal sealed class RefreshService(DashboardData data, StateWatcher watcher, AsyncRunner runner) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = data.Options;
        watcher.EnsureStarted();
        data.MarkDirty(DashboardTopic.All);
        var poll = runner.LoopAsync(
            "poll the state directory",
            _ =>
            {
                watcher.EnsureStarted();
                data.MarkDirty(DashboardTopic.All);
                return Task.CompletedTask;
            },
            options.PollInterval,
            options.OperationTimeout,
            data.Time,
            stoppingToken);

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var topics = await data.TakeDirtyAsync(stoppingToken).ConfigureAwait(false);
                await runner.Run("refresh from the state directory", () => data.Refresh(topics), options.OperationTimeout, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }

        await poll.ConfigureAwait(false);
    }

    public override void Dispose()
    {
        watcher.Dispose();
        base.Dispose();
    }
}
