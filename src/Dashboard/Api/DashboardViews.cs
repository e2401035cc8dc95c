using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Telemetry;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>Builds the API's views from the cache. Staleness is judged here, at the time of the request.</summary>
internal sealed class DashboardViews(DashboardData data, RequestStats stats, AsyncRunner runner, StateWatcher watcher)
{
    public DashboardData Data => data;

    public StatusView Status()
    {
        var now = data.Time.GetUtcNow();
        return new StatusView(now, Training(now), Self(now), Dashboards(now));
    }

    public IReadOnlyList<DashboardPeerView> Dashboards(DateTimeOffset now) => [.. data.Dashboards.Select(d =>
    {
        var result = d.Snapshot.Result;
        var doc = result.Document;
        // A dashboard rewrites its document every few seconds; one not rewritten for long is gone or stuck.
        var stale = doc is not null && now - doc.WrittenAt > data.Options.StateWriteInterval * 6 + TimeSpan.FromSeconds(30);
        return new DashboardPeerView(d.Name, Path.GetFileName(result.Path), stale ? "stale" : Name(result.State), doc?.Url,
            doc is not null && doc.IsConnected && !stale, doc is null ? null : Seconds(now - doc.WrittenAt));
    })];

    public TrainingView Training(DateTimeOffset now)
    {
        var training = data.Training;
        var stale = IsTrainingStale(training, data.Options, now);
        var status = View(training, now, stale);
        var doc = training.Result.Document;
        double? heartbeatAge = doc is null ? null : Seconds(now - (doc.Heartbeat ?? doc.WrittenAt));
        var state = training.Result.State is ReadState.Ok or ReadState.Stale
            ? stale ? "stale" : StatusJson.WireName(doc!.State)
            : Name(training.Result.State);
        return new TrainingView(state, heartbeatAge, status, View(data.ModelMetrics, now, stale: false));
    }

    public DashboardSelfView Self(DateTimeOffset now) => new(
        data.Options.Name,
        stats.Url,
        stats.StartedAt,
        Seconds(now - stats.StartedAt),
        data.IsConnected,
        watcher.IsWatching ? "watch+poll" : "poll",
        stats.InFlight,
        stats.Streams,
        stats.Requests,
        stats.Errors + runner.FailureCount,
        Round(stats.Latency.Percentile(50)),
        Round(stats.Latency.Percentile(95)),
        Round(data.UpdateLag.Percentile(50)),
        Round(data.UpdateLag.Percentile(95)),
        data.LastDataUpdate,
        data.SkippedMetricLines,
        data.SkippedEventLines);

    public ProcessesView Processes()
    {
        var now = data.Time.GetUtcNow();
        return new ProcessesView(now, data.Processes.Select(p => Process(p, now)).ToList());
    }

    public FileView<MarketData> Market()
    {
        var now = data.Time.GetUtcNow();
        return View(data.Market, now, stale: false);
    }

    public ResourcesView Resources()
    {
        var quotas = data.Quotas.Result;
        var used = data.Processes
            .Where(p => p.Result.Document is not null)
            .GroupBy(p => p.Result.Document!.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Result.Document!.GpuMemoryMb, StringComparer.Ordinal);
        var doc = quotas.Document;
        return new ResourcesView(
            Path.GetFileName(quotas.Path),
            Name(quotas.State),
            quotas.Error,
            doc?.Devices ?? [],
            (doc?.GpuQuotas ?? []).Select(q => new GpuQuotaView(q.Service, q.Device, q.MemoryMb, used.GetValueOrDefault(q.Service), StatusJson.WireName(q.Action), q.Exclusive)).ToList(),
            doc?.GpuAllocations ?? []);
    }

    public EventsView Events(long sinceSeq, int limit, int minimumSeverity) => new(
        data.Events.LastSeq,
        data.SkippedEventLines,
        data.Events.After(sinceSeq, limit, minimumSeverity).Select(Item).ToList());

    public static EventItem Item(SequencedEvent e) =>
        new(e.Seq, e.Event.Time, e.Event.Service, e.Event.Type, StatusJson.WireName(e.Event.Severity), e.Event.Message, e.Event.Data);

    /// <summary>A running trainer whose heartbeat is older than the bound: it may be hung or gone.</summary>
    public static bool IsTrainingStale(FileSnapshot<TrainingStatus> snapshot, DashboardOptions options, DateTimeOffset now) =>
        snapshot.Result.Document is { } doc && Liveness.IsStale(doc, now, options.TrainingStaleAfter);

    /// <summary>A live-state status whose supervisor stopped rewriting it: the supervisor is gone, the state unknown.</summary>
    public static bool IsProcessStale(FileSnapshot<ProcessStatus> snapshot, DashboardOptions options, DateTimeOffset now) =>
        snapshot.Result.Document is { } doc && Liveness.IsStale(doc, now, options.ProcessStaleAfter);

    private ProcessView Process(FileSnapshot<ProcessStatus> snapshot, DateTimeOffset now)
    {
        var result = snapshot.Result;
        var name = Path.GetFileName(Path.GetDirectoryName(result.Path)) ?? "";
        if (result.Document is not { } doc)
        {
            return new ProcessView(name, "unknown", "unknown", Name(result.State), result.Error, 0, null, 0, 0, 0, null, null, null, null, null, Slurm(name, null, null));
        }

        var stale = IsProcessStale(snapshot, data.Options, now);
        var alive = doc.Status is ServiceState.Running or ServiceState.Starting && !stale;
        return new ProcessView(
            name,
            doc.Kind,
            stale ? "unknown" : Name(doc.Status),
            stale ? "stale" : Name(result.State),
            stale ? $"no heartbeat for {Seconds(now - (doc.LastHeartbeat ?? doc.WrittenAt)):0.0} s: the supervisor may be gone" : result.Error,
            doc.Pid,
            alive && doc.StartTime is { } started ? Seconds(now - started) : null,
            doc.Restarts,
            doc.CpuUsage,
            doc.MemoryUsage,
            doc.GpuMemoryMb,
            doc.LastHeartbeat is { } beat ? Seconds(now - beat) : null,
            doc.LastExitCode,
            doc.ErrorMessage,
            doc.Host,
            Slurm(name, alive ? doc.Host : null, alive ? doc.WrittenAt : null));
    }

    /// <summary>
    /// The service's Slurm job when it has one, from its record (read with the processes). While its supervisor reports, the
    /// node is the supervisor's host, and a state and reason recorded before that report are over (the job runs: a queued job
    /// has no supervisor to report).
    /// </summary>
    private SlurmJobView? Slurm(string service, string? aliveOn, DateTimeOffset? reportedAt)
    {
        if (!data.SlurmJobs.TryGetValue(service, out var job))
        {
            return null;
        }

        var superseded = reportedAt is { } reported && (job.ObservedAt is not { } seen || reported > seen);
        return new SlurmJobView(job.JobId, job.SubmittedAt, aliveOn ?? job.Node,
            superseded ? null : job.JobState, superseded ? null : job.Reason, job.ObservedAt);
    }

    private static FileView<T> View<T>(FileSnapshot<T> snapshot, DateTimeOffset now, bool stale)
        where T : StatusDocument
    {
        var result = snapshot.Result;
        var doc = result.Document;
        return new FileView<T>(
            Path.GetFileName(result.Path),
            stale ? "stale" : Name(result.State),
            stale ? "the trainer's heartbeat is old: it may be hung or gone" : result.Error,
            doc is null ? null : Seconds(now - doc.WrittenAt),
            doc);
    }

    private static string Name(ReadState state) => StatusJson.WireName(state);

    private static string Name(ServiceState state) => StatusJson.WireName(state);

    private static double Seconds(TimeSpan span) => Math.Round(span.TotalSeconds, 3);

    private static double Round(double value) => Math.Round(value, 3);
}
