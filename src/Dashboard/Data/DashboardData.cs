using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StabilityTools.Dashboard.Api;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Telemetry;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// The dashboard's in-memory view of the state directory, refreshed when files change.
/// </summary>
/// <remarks>
/// Concurrency: one refresh loop (<see cref="Refresh"/>, serialized by a lock) replaces immutable snapshots
/// and appends to the history and event feed; request handlers read whatever snapshot is current without
/// locking. Files are read by path through the engine's readers, which never hold a file open between reads
/// and report missing, corrupt and oversized files as states. Changes are announced to subscribers by topic.
/// </remarks>
internal sealed class DashboardData
{
    private readonly DashboardOptions _options;
    private readonly ILogger _logger;
    private readonly StatusStore _store;
    private readonly JsonLinesOptions _logOptions = new();
    private readonly TrainingRuns _runs;
    private readonly RunCatalog _catalog;
    private JsonLinesLog<MetricRecord> _metricsLog;
    private string? _runId = "";
    private readonly JsonLinesLog<StabilityEvent> _eventsLog;
    private readonly ConcurrentDictionary<ChangeSubscription, byte> _subscribers = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _refreshGate = new();
    private readonly LatencyWindow _updateLag = new(512);
    private static readonly TimeSpan SettledAfter = TimeSpan.FromSeconds(2);
    private const long LiveTailBytes = 4 * 1024 * 1024;
    private readonly long[] _versions = new long[7];
    private readonly Dictionary<string, (long Length, DateTime WrittenUtc)> _settled = new(StringComparer.Ordinal);
    private int _dirty;
    private long _metricsOffset = -1;
    private long _eventsOffset = -1;
    private bool _trainingStale;
    private string _processesFingerprint = "";
    private Dictionary<string, (ReadState, long, DateTimeOffset, string?)> _processFingerprints = new(StringComparer.Ordinal);

    public DashboardData(DashboardOptions options, TimeProvider time, ILogger<DashboardData> logger)
    {
        _options = options;
        _logger = logger;
        Time = time;
        State = StateDirectory.Locate(options.StateDirectory);
        _store = new StatusStore(new StatusStoreOptions { TimeProvider = time });
        _runs = new TrainingRuns(State, _store);
        _catalog = new RunCatalog(State);
        _eventsLog = new JsonLinesLog<StabilityEvent>(State.EventsLogPath, _logOptions);
        var none = RunOrPlaceholder(null);
        _metricsLog = new JsonLinesLog<MetricRecord>(none.MetricsLogPath, _logOptions);
        Training = FileSnapshot<TrainingStatus>.Unread(none.TrainingStatusPath);
        ModelMetrics = FileSnapshot<ModelMetrics>.Unread(none.ModelMetricsPath);
        Market = FileSnapshot<MarketData>.Unread(none.MarketDataPath);
        Quotas = FileSnapshot<ResourceQuotas>.Unread(State.QuotasPath);
        Metrics = new MetricHistory(options.MaxMetricRecords);
        Events = new EventFeed(options.MaxEvents);
        Errors = new ErrorTimeline(time);
    }

    public TimeProvider Time { get; }

    public StateDirectory State { get; }

    public DashboardOptions Options => _options;

    /// <summary>The run shown: the built-in training service's, else the newest (<see cref="TrainingRuns.DefaultRunId"/>); null for none yet.</summary>
    public string? RunId => _runId is { Length: > 0 } id ? id : null;

    public FileSnapshot<TrainingStatus> Training { get; private set; }

    public FileSnapshot<ModelMetrics> ModelMetrics { get; private set; }

    public FileSnapshot<MarketData> Market { get; private set; }

    public FileSnapshot<ResourceQuotas> Quotas { get; private set; }

    public IReadOnlyList<FileSnapshot<ProcessStatus>> Processes { get; private set; } = [];

    /// <summary>
    /// The Slurm job records (<c>services/&lt;name&gt;/slurm.json</c>) of the services that have one, by service, re-read with the
    /// processes: the job id, and what the last command that asked Slurm recorded (state, pending reason, node).
    /// </summary>
    public IReadOnlyDictionary<string, SlurmJobRecord> SlurmJobs { get; private set; } = new Dictionary<string, SlurmJobRecord>();

    /// <summary>The state documents of every dashboard of the state directory (this one included), re-read with the processes.</summary>
    public IReadOnlyList<(string Name, FileSnapshot<DashboardState> Snapshot)> Dashboards { get; private set; } = [];

    public MetricHistory Metrics { get; }

    public EventFeed Events { get; }

    /// <summary>Restarts, failures, hangs and limit events over the last seven days, for the errors chart.</summary>
    public ErrorTimeline Errors { get; }

    /// <summary>Lines of metrics.jsonl that were not valid records.</summary>
    public int SkippedMetricLines { get; private set; }

    /// <summary>Lines of events.jsonl that were not valid records.</summary>
    public int SkippedEventLines { get; private set; }

    /// <summary>True when the state directory exists.</summary>
    public bool IsConnected { get; private set; }

    /// <summary>When a refresh last found new data.</summary>
    public DateTimeOffset? LastDataUpdate { get; private set; }

    /// <summary>When a refresh last completed.</summary>
    public DateTimeOffset? LastRefresh { get; private set; }

    /// <summary>File change (written_at) to cache, ms.</summary>
    public LatencyWindow UpdateLag => _updateLag;

    /// <summary>Open subscriptions (stream clients).</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>
    /// How often <paramref name="topic"/> (one flag) has changed: it goes up before the change is announced, so a
    /// stream that hears of a change always finds a version at least that new (see <c>StreamFrames</c>).
    /// </summary>
    public long Version(DashboardTopic topic) => Volatile.Read(ref _versions[System.Numerics.BitOperations.Log2((uint)topic)]);

    /// <summary>Marks topics for the refresh loop; cheap, callable from any thread (the file-system watcher's).</summary>
    public void MarkDirty(DashboardTopic topics)
    {
        Interlocked.Or(ref _dirty, (int)topics);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Waits until some topic is dirty and takes the dirty set.</summary>
    public async Task<DashboardTopic> TakeDirtyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var dirty = (DashboardTopic)Interlocked.Exchange(ref _dirty, 0);
            if (dirty != DashboardTopic.None)
            {
                return dirty;
            }

            await _wake.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public ChangeSubscription Subscribe()
    {
        var subscription = new ChangeSubscription(s => _subscribers.TryRemove(s, out _));
        _subscribers.TryAdd(subscription, 0);
        return subscription;
    }

    /// <summary>Re-reads the files of <paramref name="topics"/> and announces the topics that changed.</summary>
    /// <returns>The topics that changed.</returns>
    public DashboardTopic Refresh(DashboardTopic topics)
    {
        // Training first and announced at once: re-reading a market document of megabytes must not hold back the
        // card every page watches.
        if (topics.HasFlag(DashboardTopic.Training) && topics != DashboardTopic.Training)
        {
            var training = RefreshAndPublish(DashboardTopic.Training);
            return training | RefreshAndPublish(topics & ~DashboardTopic.Training);
        }

        return RefreshAndPublish(topics);
    }

    private DashboardTopic RefreshAndPublish(DashboardTopic topics)
    {
        // A read stuck on a dead file system holds the gate; later refreshes give up on it instead of piling up.
        if (!_refreshGate.TryEnter(_options.OperationTimeout))
        {
            MarkDirty(topics);
            return DashboardTopic.None;
        }

        DashboardTopic changed;
        try
        {
            changed = RefreshLocked(topics);
        }
        finally
        {
            _refreshGate.Exit();
        }

        if (changed != DashboardTopic.None)
        {
            for (var bit = 0; bit < _versions.Length; bit++)
            {
                if (((int)changed & (1 << bit)) != 0)
                {
                    Interlocked.Increment(ref _versions[bit]);
                }
            }

            LastDataUpdate = Time.GetUtcNow();
            foreach (var subscriber in _subscribers.Keys)
            {
                subscriber.Publish(changed);
            }
        }

        return changed;
    }

    private DashboardTopic RefreshLocked(DashboardTopic topics)
    {
        var now = Time.GetUtcNow();
        var changed = DashboardTopic.None;
        IsConnected = State.Exists;
        if ((topics & (DashboardTopic.Training | DashboardTopic.Metrics | DashboardTopic.Market | DashboardTopic.Processes)) != 0)
        {
            changed |= FollowRun(ref topics);
        }

        if (topics.HasFlag(DashboardTopic.Training))
        {
            var training = ReadIfChanged(Training, now, out var trainingChanged);
            var metrics = ReadIfChanged(ModelMetrics, now, out var metricsChanged);
            Training = training;
            ModelMetrics = metrics;
            // Staleness is a matter of time passing, not of the file: a flip is a change to show.
            var stale = (training.Result.Document is { } trainingDoc && Liveness.IsStale(trainingDoc, now, _options.TrainingStaleAfter));
            if (trainingChanged || metricsChanged || stale != _trainingStale)
            {
                _trainingStale = stale;
                changed |= DashboardTopic.Training;
            }
        }

        if (topics.HasFlag(DashboardTopic.Market))
        {
            Market = ReadIfChanged(Market, now, out var marketChanged);
            changed |= marketChanged ? DashboardTopic.Market : DashboardTopic.None;
        }

        if (topics.HasFlag(DashboardTopic.Resources))
        {
            Quotas = ReadIfChanged(Quotas, now, out var quotasChanged);
            changed |= quotasChanged ? DashboardTopic.Resources : DashboardTopic.None;
        }

        if (topics.HasFlag(DashboardTopic.Processes))
        {
            var services = State.ListServices();
            var processes = services
                .Select(name => new FileSnapshot<ProcessStatus>(_store.Read<ProcessStatus>(State.ServiceStatusPath(name)), now))
                .ToList();
            var slurmJobs = ReadSlurmJobs(services);
            var fingerprints = processes.ToDictionary(p => p.Result.Path, p => p.Fingerprint, StringComparer.Ordinal);
            foreach (var process in processes)
            {
                if (!_processFingerprints.TryGetValue(process.Result.Path, out var before) || before != process.Fingerprint)
                {
                    RecordLag(process.Result, now);
                }
            }

            _processFingerprints = fingerprints;
            Dashboards = [.. State.ListDashboardStates().Select(d => (d.Name, new FileSnapshot<DashboardState>(_store.Read<DashboardState>(d.Path), now)))];

            var fingerprint = string.Join("|", processes.Select(p =>
                $"{p.Result.Path}:{p.Fingerprint}:{(p.Result.Document is { } processDoc && Liveness.IsStale(processDoc, now, _options.ProcessStaleAfter))}"))
                + "|" + string.Join("|", slurmJobs.Select(j => $"{j.Key}:{j.Value.JobId}:{j.Value.Seq}"));
            Processes = processes;
            SlurmJobs = slurmJobs;
            if (fingerprint != _processesFingerprint)
            {
                _processesFingerprint = fingerprint;
                // Process GPU memory feeds the resources view too.
                changed |= DashboardTopic.Processes | DashboardTopic.Resources;
            }
        }

        if (topics.HasFlag(DashboardTopic.Metrics))
        {
            // The live window starts at the log's tail (the runs API serves the whole history): start-up stays flat however long the run.
            var read = _metricsLog.ReadFrom(_metricsOffset < 0 ? History.LogTail.Offset(_metricsLog.Path, LiveTailBytes) : _metricsOffset);
            _metricsOffset = read.EndOffset;
            SkippedMetricLines += read.SkippedLines;
            if (Metrics.Add(read.Records))
            {
                changed |= DashboardTopic.Metrics;
                RecordLag(read.Records[^1].Time, now);
            }
        }

        if (topics.HasFlag(DashboardTopic.Events))
        {
            var read = _eventsOffset < 0 ? _eventsLog.ReadAll() : _eventsLog.ReadFrom(_eventsOffset);
            _eventsOffset = read.EndOffset;
            SkippedEventLines += read.SkippedLines;
            Errors.Add(read.Records);
            if (Events.Add(read.Records))
            {
                changed |= DashboardTopic.Events;
            }
        }

        changed |= topics.HasFlag(DashboardTopic.Runs) && IsConnected && _catalog.Refresh() ? DashboardTopic.Runs : DashboardTopic.None;
        LastRefresh = now;
        return changed;
    }

    /// <summary>
    /// Points the run's documents at the run to show when that changed (a new start, another service's run); the old
    /// run's history is dropped. Returns the topics to announce and widens <paramref name="topics"/> to re-read them.
    /// </summary>
    private DashboardTopic FollowRun(ref DashboardTopic topics)
    {
        var runId = IsConnected ? _runs.DefaultRunId() : null;
        if (runId == _runId)
        {
            return DashboardTopic.None;
        }

        _runId = runId;
        var run = RunOrPlaceholder(runId);
        _metricsLog = new JsonLinesLog<MetricRecord>(run.MetricsLogPath, _logOptions);
        _metricsOffset = -1;
        Metrics.Reset();
        Training = FileSnapshot<TrainingStatus>.Unread(run.TrainingStatusPath);
        ModelMetrics = FileSnapshot<ModelMetrics>.Unread(run.ModelMetricsPath);
        Market = FileSnapshot<MarketData>.Unread(run.MarketDataPath);
        var followed = DashboardTopic.Training | DashboardTopic.Metrics | DashboardTopic.Market;
        topics |= followed;
        return followed;
    }

    // A queued job's supervisor writes nothing yet: its record is all the dashboard knows of it (only services started with
    // -Backend Slurm have one, so a local service costs a failed stat).
    private Dictionary<string, SlurmJobRecord> ReadSlurmJobs(IReadOnlyList<string> services)
    {
        var jobs = new Dictionary<string, SlurmJobRecord>(StringComparer.Ordinal);
        foreach (var name in services)
        {
            var path = Engine.Services.SlurmLauncher.RecordPath(State, name);
            if (File.Exists(path) && _store.Read<SlurmJobRecord>(path).Document is { JobId.Length: > 0 } job)
            {
                jobs[name] = job;
            }
        }

        return jobs;
    }

    // Before any run exists the documents are read at a path that cannot exist (no run id starts with '.'): "missing".
    private RunPaths RunOrPlaceholder(string? runId) => runId is null ? new RunPaths("", Path.Combine(State.RunsDirectory, ".none")) : State.Run(runId);

    private FileSnapshot<T> ReadIfChanged<T>(FileSnapshot<T> current, DateTimeOffset now, out bool changed)
        where T : StatusDocument, IStatusSchema
    {
        var path = current.Result.Path;
        var stat = Stat(path);
        if (current.Result.State == ReadState.Ok && stat is { } seen && _settled.TryGetValue(path, out var settled) && settled == seen)
        {
            // The same settled file as last time (every poll re-reads everything): parsing megabytes again would say nothing new.
            changed = false;
            return current;
        }

        var next = new FileSnapshot<T>(_store.Read<T>(path), now);
        // Only a file last written well before it was read counts as settled: on a file system with coarse
        // timestamps a rewrite in the same second would otherwise look unchanged.
        if (next.Result.State == ReadState.Ok && stat is { } read && read.WrittenUtc < now.UtcDateTime - SettledAfter && Stat(path) == read)
        {
            _settled[path] = read;
        }
        else
        {
            _settled.Remove(path);
        }

        changed = next.Fingerprint != current.Fingerprint;
        if (!changed)
        {
            return current;
        }

        if (next.Result.State is not (ReadState.Ok or ReadState.Missing))
        {
            _logger.LogWarning("{File} is {State}: {Error}", Path.GetFileName(next.Result.Path), next.Result.State, next.Result.Error);
        }

        RecordLag(next.Result, now);
        return next;
    }

    private static (long Length, DateTime WrittenUtc)? Stat(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.Length, info.LastWriteTimeUtc) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void RecordLag<T>(ReadResult<T> result, DateTimeOffset now)
        where T : StatusDocument
    {
        if (result.Document is { } document && document.Seq != 0)
        {
            RecordLag(document.WrittenAt, now);
        }
    }

    private void RecordLag(DateTimeOffset writtenAt, DateTimeOffset now)
    {
        var lag = (now - writtenAt).TotalMilliseconds;
        // Only fresh writes measure the pipeline; an old file read at start-up says nothing about it.
        if (lag is >= 0 and < 60_000 && LastRefresh is not null)
        {
            _updateLag.Add(lag);
        }
    }
}
