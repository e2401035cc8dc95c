namespace StabilityTools.Dashboard.Data;

/// <summary>The parts of the state directory the dashboard shows; each changes, is refreshed and is pushed on its own.</summary>
[Flags]
internal enum DashboardTopic
{
    None = 0,

    /// <summary><c>data/training_status.json</c> and <c>data/model_metrics.json</c>.</summary>
    Training = 1,

    /// <summary><c>data/metrics.jsonl</c>.</summary>
    Metrics = 2,

    /// <summary><c>data/market_data.json</c>.</summary>
    Market = 4,

    /// <summary><c>services/*/status.json</c>.</summary>
    Processes = 8,

    /// <summary><c>resources/quotas.json</c>.</summary>
    Resources = 16,

    /// <summary><c>events.jsonl</c>.</summary>
    Events = 32,

    /// <summary><c>runs/*/run.json</c>: a run appeared, started, ended or was removed.</summary>
    Runs = 64,

    All = Training | Metrics | Market | Processes | Resources | Events | Runs,
}
