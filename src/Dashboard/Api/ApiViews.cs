using StabilityTools.Engine.Models;

// The JSON shapes of the API (snake_case through StatusJson.Options). Kept together on purpose: together
// they are the dashboard's wire contract, and the page and tests read them in one place.
namespace StabilityTools.Dashboard.Api;

/// <summary>A status document as shown: its file's state (ok, stale, missing, corrupt, oversized, unreadable) and the document when there is one.</summary>
internal sealed record FileView<T>(string File, string State, string? Error, double? AgeSeconds, T? Document);

/// <summary>The training card: a display state, the heartbeat's age, and both training documents.</summary>
internal sealed record TrainingView(string State, double? HeartbeatAgeSeconds, FileView<TrainingStatus> Status, FileView<ModelMetrics> ModelMetrics);

/// <summary>The dashboard's own health.</summary>
internal sealed record DashboardSelfView(
    string Name,
    string? Url,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    bool IsConnected,
    string WatchMode,
    int ActiveConnections,
    int StreamClients,
    long Requests,
    long ErrorCount,
    double RequestLatencyP50Ms,
    double RequestLatencyP95Ms,
    double UpdateLagP50Ms,
    double UpdateLagP95Ms,
    DateTimeOffset? LastDataUpdate,
    int SkippedMetricLines,
    int SkippedEventLines);

/// <summary>One dashboard of the state directory, from its own state document (<c>data/dashboard_state[.NAME].json</c>).</summary>
internal sealed record DashboardPeerView(string Name, string File, string State, string? Url, bool IsConnected, double? AgeSeconds);

/// <summary><c>/api/status</c>: the training card, this dashboard's own health, and every dashboard of the state directory.</summary>
internal sealed record StatusView(DateTimeOffset ServerTime, TrainingView Training, DashboardSelfView Dashboard, IReadOnlyList<DashboardPeerView> Dashboards);

/// <summary>One row of the process table.</summary>
internal sealed record ProcessView(
    string Name,
    string Kind,
    string State,
    string FileState,
    string? FileError,
    int Pid,
    double? UptimeSeconds,
    int Restarts,
    double CpuPercent,
    double MemoryMb,
    double? GpuMemoryMb,
    double? HeartbeatAgeSeconds,
    int? LastExitCode,
    string? ErrorMessage,
    string? Host = null,
    SlurmJobView? Slurm = null);

/// <summary>
/// The Slurm job of a service started with <c>-Backend Slurm</c>, from its <c>services/&lt;name&gt;/slurm.json</c> (the dashboard
/// never calls Slurm): the node is the host its supervisor reports from, else the one Slurm last named (null before the job
/// ran); the state and the pending reason are what the last command that asked Slurm recorded, at <paramref name="ObservedAt"/>
/// (both null once the supervisor reported after that).
/// </summary>
internal sealed record SlurmJobView(string JobId, DateTimeOffset SubmittedAt, string? Node, string? State, string? Reason, DateTimeOffset? ObservedAt);

/// <summary><c>/api/processes</c>.</summary>
internal sealed record ProcessesView(DateTimeOffset ServerTime, IReadOnlyList<ProcessView> Services);

/// <summary><c>/api/metrics</c>: <paramref name="Total"/> records matched, <paramref name="Returned"/> after downsampling.</summary>
internal sealed record MetricsView(int Total, int Returned, bool Downsampled, int SkippedLines, IReadOnlyList<MetricRecord> Records);

/// <summary>A GPU quota with the service's current use.</summary>
internal sealed record GpuQuotaView(string Service, int? Device, double MemoryMb, double? UsedMb, string Action, bool Exclusive);

/// <summary><c>/api/resources</c>: devices, quotas and allocations from <c>resources/quotas.json</c>, use from the supervisors.</summary>
internal sealed record ResourcesView(string File, string State, string? Error, IReadOnlyList<GpuDevice> Devices, IReadOnlyList<GpuQuotaView> Quotas, IReadOnlyList<GpuAllocation> Allocations);

/// <summary>One event with the dashboard's sequence number.</summary>
internal sealed record EventItem(long Seq, DateTimeOffset Time, string? Service, string Type, string Severity, string Message, IReadOnlyDictionary<string, string>? Data);

/// <summary><c>/api/events</c>.</summary>
internal sealed record EventsView(long LastSeq, int SkippedLines, IReadOnlyList<EventItem> Events);

/// <summary>A metrics push on the stream: new records, or <c>reset</c> when the client must refetch <c>/api/metrics</c>.</summary>
internal sealed record MetricsDelta(bool Reset, long Total, IReadOnlyList<MetricRecord> Records);
