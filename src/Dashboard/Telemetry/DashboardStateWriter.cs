using Microsoft.Extensions.Hosting;
using StabilityTools.Dashboard.Api;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Telemetry;

/// <summary>
/// Writes the dashboard's own health to <c>data/dashboard_state.json</c> (the only file it writes) every
/// state interval, and once more on shutdown with <c>is_connected = false</c>. A failed write is logged and
/// counted, never fatal. The state directory itself is never created here: a dashboard pointed at a
/// directory that does not exist shows that, instead of making one.
/// </summary>
internal sealed class DashboardStateWriter(DashboardData data, DashboardViews views, AsyncRunner runner, RequestStats stats, Security.ConnectionGuard connections) : BackgroundService
{
    private readonly StatusStore _store = new(new StatusStoreOptions { TimeProvider = data.Time, Fsync = false, LockTimeout = TimeSpan.FromSeconds(1) });

    // Run as another user (-RunAsUser) it may not write data/: its supervisor hands it a folder of its own and copies
    // the document from there (docs/SECURITY.md).
    private readonly string? _ownDirectory = Environment.GetEnvironmentVariable(Engine.State.RunDelegation.OwnDirectoryVariable) is { Length: > 0 } own ? own : null;

    public string Path => System.IO.Path.Combine(_ownDirectory ?? data.State.DataDirectory, data.Options.StateFileName);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runner.LoopAsync(
        "write " + data.Options.StateFileName,
        _ => Task.Run(() => Write(connected: true)),
        data.Options.StateWriteInterval,
        data.Options.OperationTimeout,
        data.Time,
        stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await runner.Run("write the final " + data.Options.StateFileName, () => Write(connected: false), TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
    }

    internal void Write(bool connected)
    {
        if (!data.State.Exists)
        {
            return;
        }

        if (_ownDirectory is null)
        {
            FilePermissions.CreateOwnerOnlyDirectory(data.State.DataDirectory);
        }

        var self = views.Self(data.Time.GetUtcNow());
        _store.Write(Path, new DashboardState
        {
            IsConnected = connected && self.IsConnected,
            LastDataUpdate = self.LastDataUpdate,
            ActiveConnections = self.ActiveConnections,
            ErrorCount = (int)Math.Min(int.MaxValue, self.ErrorCount),
            RequestLatencyP50Ms = self.RequestLatencyP50Ms,
            RequestLatencyP95Ms = self.RequestLatencyP95Ms,
            UpdateLagMs = self.UpdateLagP50Ms,
            Url = self.Url,
            PerformanceMetrics = new Dictionary<string, double>
            {
                ["request_latency_p50_ms"] = self.RequestLatencyP50Ms,
                ["request_latency_p95_ms"] = self.RequestLatencyP95Ms,
                ["update_lag_p50_ms"] = self.UpdateLagP50Ms,
                ["update_lag_p95_ms"] = self.UpdateLagP95Ms,
                ["requests_total"] = self.Requests,
                ["stream_clients"] = self.StreamClients,
                ["slow_streams_closed"] = stats.SlowStreamsClosed,
                ["connections_open"] = connections.Open,
                ["connections_evicted"] = connections.Evicted,
                ["connections_refused"] = connections.Refused,
                ["uptime_seconds"] = self.UptimeSeconds,
                ["working_set_mb"] = Math.Round(Environment.WorkingSet / 1048576.0, 1),
                ["managed_heap_mb"] = Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0, 1),
                ["gc_count_gen2"] = GC.CollectionCount(2),
            },
        });
    }
}
