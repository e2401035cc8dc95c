using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// The tick (issue #16: an idle supervisor sleeps until something happens): one timer that samples the tree, checks
/// progress and limits, re-reads the control file as a safety net, and writes the heartbeat. Its pace is the
/// heartbeat interval (spec <c>heartbeat_interval_ms</c>, 5 s by default), one second only while a run needs a sample
/// that often: hang detection is on, or the service has a limit or quota. Quota changes and new runs wake it at once.
/// </summary>
internal sealed partial class ServiceSupervisor
{
    /// <summary>The pace while hang detection or a limit needs samples: what hang timeouts and limits were written for.</summary>
    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);

    private readonly object _tickGate = new();
    private TimeSpan _period;
    private DateTimeOffset _nextHeartbeat = DateTimeOffset.MinValue;
    private readonly ConditionJudge _judge = new();
    private IReadOnlyList<AlertRule> _conditionRules = [];
    private int _judgedRun;
    private int _rulesRun;
    private long _metricsOffset;
    private volatile bool _diskCheckDue;

    private TimeSpan HeartbeatInterval => TimeSpan.FromMilliseconds(_spec.HeartbeatIntervalMs);

    /// <summary>Runs the tick now (a new run, a quota change) instead of at its next due time.</summary>
    private void Wake() => _ticker?.Change(TimeSpan.Zero, _period);

    private void Tick()
    {
        // A wake can meet a tick under way on another pool thread: that one's sample is as fresh.
        if (!Monitor.TryEnter(_tickGate))
        {
            return;
        }

        try
        {
            var run = _run;
            var pid = run is { Stopping: false } && !run.Exit.Task.IsCompleted ? run.Pid : 0;
            _children.Locked(own => _sampler.Sample(pid, own, Stopwatch.GetTimestamp(), Stopwatch.Frequency));

            var now = _time.GetUtcNow();
            var beat = now + SampleInterval / 2 >= _nextHeartbeat;
            if (run is not null && pid != 0)
            {
                // The alert rules' conditions: their rules looked at once a heartbeat and at a new run's first tick (a
                // stat of alerts.json), their figures read only while a rule asks. No rule, no extra read.
                if (beat || _rulesRun != run.Pid)
                {
                    _rulesRun = run.Pid;
                    _conditionRules = _alerts.ConditionRules();
                }

                var judged = _conditionRules.Count > 0 && _conditionRules.Any(r => r.On.Any(t => ConditionJudge.Wants(r, _name, t)));
                var status = (_spec.HangTimeoutMs > 0 || !run.LossReported || WantsSamples(_conditionRules)) && _spec.RunId is { } runId
                    ? _store.Read<TrainingStatus>(_state.Run(runId).TrainingStatusPath).Document
                    : null;
                if (_spec.HangTimeoutMs > 0 || !run.LossReported)
                {
                    CheckProgress(run, status);
                }

                if (judged)
                {
                    CheckConditions(run, status, now, beat);
                }
            }

            if (run is not null && pid != 0)
            {
                _limits ??= NewLimitEnforcer();
                foreach (var violation in _limits.Check(_sampler.TreePids, _sampler.MemoryMb))
                {
                    Post(new SupervisorMessage.LimitExceeded(run, violation));
                }
            }

            // Where the control file is watched this re-read only catches a missed event; unwatched, it polls itself.
            _control?.Check();
            _relay?.Pump();
            _ownDocument?.Pump();

            if (beat)
            {
                _nextHeartbeat = now + HeartbeatInterval;
                Publish(s => s with
                {
                    LastHeartbeat = now,
                    HeartbeatIntervalMs = _spec.HeartbeatIntervalMs,
                    CpuUsage = pid == 0 ? 0 : _sampler.CpuPercent,
                    MemoryUsage = pid == 0 ? 0 : _sampler.MemoryMb,
                    GpuMemoryMb = pid == 0 ? null : _limits?.GpuMemoryMb,
                });
                if (pid != 0)
                {
                    _metrics.Record(_spec, now, pid, _sampler.CpuPercent, _sampler.MemoryMb, _limits?.GpuMemoryMb);
                }
            }

            // Throughput and progress rules need a sample each second too: a median of a handful of heartbeats is no median.
            var period = pid != 0 && (_spec.HangTimeoutMs > 0 || _limits?.HasLimits == true || _quotasWatch is null || WantsSamples(_conditionRules))
                ? SampleInterval : HeartbeatInterval;
            if (period != _period)
            {
                _period = period;
                _ticker?.Change(period, period);
            }
        }
        catch (Exception ex)
        {
            // The heartbeat must keep beating: log and count, never let the timer die.
            _log.Error(ex, "Heartbeat failed");
        }
        finally
        {
            Monitor.Exit(_tickGate);
        }
    }

    private static string? NotFinite(TrainingStatus status) =>
        !double.IsFinite(status.Loss) ? $"loss {status.Loss.ToString(CultureInfo.InvariantCulture)}"
        : status.ValLoss is { } val && !double.IsFinite(val) ? $"val_loss {val.ToString(CultureInfo.InvariantCulture)}"
        : null;

    /// <summary>From the tick: posts a hang when the trainer's progress has stalled for the hang timeout (<see cref="HangDetector"/>).</summary>
    /// <param name="run">The current run.</param>
    /// <param name="status">The run's training_status.json as the tick read it; null without one (or without a run id: no progress to judge).</param>
    private void CheckProgress(ServiceRun run, TrainingStatus? status)
    {
        // A diverged run (NaN or infinite loss) goes on burning its GPU while reporting nonsense: worth a notice.
        if (status is not null && status.Pid == run.Pid && !run.LossReported && NotFinite(status) is { } what)
        {
            Post(new SupervisorMessage.LossNotFinite(run, what));
        }

        if (_spec.HangTimeoutMs <= 0)
        {
            return;
        }

        if (_hang.Check(status, run.Pid, _time.GetUtcNow(), TimeSpan.FromMilliseconds(_spec.HangTimeoutMs), out var armed) is { } reason)
        {
            Post(new SupervisorMessage.Hung(run, reason));
        }
        else if (armed)
        {
            _log.Information("Hang detection armed for {Service} (pid {Pid})", _name, run.Pid);
        }
    }

    private bool WantsSamples(IReadOnlyList<AlertRule> rules) =>
        rules.Count > 0 && ConditionJudge.AnyWanted(rules, _name, AlertTrigger.ThroughputLow, AlertTrigger.NoProgress);

    /// <summary>
    /// From the tick: feeds the judge what the rules ask for (the trainer's status, the new epoch records of
    /// metrics.jsonl from the offset read last, the disk once a heartbeat) and posts each condition that changed to the loop.
    /// </summary>
    private void CheckConditions(ServiceRun run, TrainingStatus? status, DateTimeOffset now, bool beat)
    {
        var rules = _conditionRules;
        if (_judgedRun != run.Pid)
        {
            // A new run is judged from its own figures (its pace, its progress); the run's loss history stays.
            _judgedRun = run.Pid;
            _judge.NewRun();
        }

        if (status is not null && status.Pid == run.Pid)
        {
            _judge.ObserveStatus(status, now);
        }

        if (_spec.RunId is { } runId && ConditionJudge.AnyWanted(rules, _name, AlertTrigger.LossRising))
        {
            ReadNewEpochs(_state.Run(runId).MetricsLogPath);
        }

        if ((beat || _diskCheckDue) && ConditionJudge.AnyWanted(rules, _name, AlertTrigger.DiskFull) && DiskSpace.Of(_state.Root) is { } disk)
        {
            _diskCheckDue = false;
            _judge.ObserveDisk(disk.FreeBytes, disk.TotalBytes);
        }

        foreach (var reading in _judge.Judge(rules, _name, now))
        {
            Post(new SupervisorMessage.Condition(reading));
        }
    }

    /// <summary>The epoch records appended to metrics.jsonl since the last read: a stat, and a read of the new bytes only when it grew.</summary>
    private void ReadNewEpochs(string path)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        if (length == _metricsOffset)
        {
            return;
        }

        JsonLinesReadResult<MetricRecord> read;
        try
        {
            read = new JsonLinesLog<MetricRecord>(path).ReadFrom(_metricsOffset);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Engine.Errors.StabilityException)
        {
            // Judged again at the next tick; the heartbeat must not wait on a trainer's log.
            _log.Debug(ex, "Could not read {Path}", path);
            return;
        }

        _metricsOffset = read.EndOffset;
        foreach (var record in read.Records)
        {
            _judge.ObserveEpoch(record);
        }
    }

    /// <summary>
    /// An inotify watch on <c>resources/quotas.json</c>, so a limit set on a live service applies at once although the
    /// tick sleeps a heartbeat interval. Null where no watch can be had: the tick then samples every second while a run lives.
    /// </summary>
    private FileSystemWatcher? WatchQuotas()
    {
        try
        {
            var directory = Path.GetDirectoryName(_state.QuotasPath)!;
            Directory.CreateDirectory(directory);
            var watch = new FileSystemWatcher(directory, Path.GetFileName(_state.QuotasPath))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            watch.Created += (_, _) => Wake();
            watch.Changed += (_, _) => Wake();
            watch.Renamed += (_, _) => Wake();
            watch.EnableRaisingEvents = true;
            return watch;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            _log.Warning("No file-system watch on {Path} ({Message}); limits are sampled every second instead", _state.QuotasPath, ex.Message);
            return null;
        }
    }

    /// <summary>The policy a new run starts under, as status.json shows it: idle where chrt(1) set it, normal where asked, else null (the supervisor's).</summary>
    private static string? StartedPolicy(ServiceSpec spec) =>
        StartCommand.IdleChrt(spec) is not null ? ServiceSpec.CpuPolicyIdle
        : spec.CpuPolicy == ServiceSpec.CpuPolicyNormal ? ServiceSpec.CpuPolicyNormal : null;

    /// <summary>From the health probe: a service at the idle policy gets the floor's judgement of each answer.</summary>
    private void OnProbeAnswered(int pid, bool ok, TimeSpan took)
    {
        if (StartCommand.IdleChrt(_spec) is not null)
        {
            _floor.Observe(pid, ok, took, TimeSpan.FromMilliseconds(_spec.HealthTimeoutMs));
        }
    }

    /// <summary>The floor lifted an idle service to the normal policy, or put it back: status.json and an event say so.</summary>
    private void FloorChanged(bool lifted, int threads)
    {
        var policy = lifted ? ServiceSpec.CpuPolicyNormal : ServiceSpec.CpuPolicyIdle;
        if (threads == 0)
        {
            Event("cpu_floor_failed", EventSeverity.Warning,
                $"'{_name}' answers its health probe slowly under the idle CPU policy, but none of its threads could be set to '{policy}' (leaving SCHED_IDLE needs root or RLIMIT_NICE; see docs/RELIABILITY.md).",
                ("policy", policy));
            return;
        }

        Publish(s => s with { CpuPolicy = policy });
        Event("cpu_floor", EventSeverity.Info, lifted
                ? $"'{_name}' answered its health probe slowly under the idle CPU policy: {threads} threads lifted to normal (nice {_spec.Nice ?? 0}) until it answers quickly again."
                : $"'{_name}' answered {CpuFloor.QuickAnswersToLower} health probes quickly: {threads} threads back at the idle CPU policy.",
            ("policy", policy), ("threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
