namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>data/dashboard_state.json</c>: the dashboard's own health. The seed's DashboardState field for field
/// (<c>is_connected</c>, <c>last_data_update</c>, <c>active_connections</c>, <c>error_count</c>,
/// <c>performance_metrics</c>) plus request latency and update lag.
/// </summary>
public sealed record DashboardState : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "dashboard_state";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>True while the dashboard can read the state directory.</summary>
    public bool IsConnected { get; init; }

    /// <summary>When the dashboard last saw new data from the trainer.</summary>
    public DateTimeOffset? LastDataUpdate { get; init; }

    /// <summary>Open client connections (page and SSE streams).</summary>
    public int ActiveConnections { get; init; }

    /// <summary>Errors since the dashboard started.</summary>
    public int ErrorCount { get; init; }

    /// <summary>Named figures, e.g. <c>request_latency_p50_ms</c>.</summary>
    public IReadOnlyDictionary<string, double> PerformanceMetrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Median request latency, ms.</summary>
    public double RequestLatencyP50Ms { get; init; }

    /// <summary>95th percentile request latency, ms.</summary>
    public double RequestLatencyP95Ms { get; init; }

    /// <summary>Time from a data file's change to the dashboard's cache holding it, ms.</summary>
    public double UpdateLagMs { get; init; }

    /// <summary>The address the dashboard serves.</summary>
    public string? Url { get; init; }
}
