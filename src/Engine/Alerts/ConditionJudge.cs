using System.Globalization;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Alerts;

/// <summary>A judged condition of one rule, as <see cref="ConditionJudge.Judge"/> found it changed: it holds now, or it cleared.</summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Trigger">The condition (<see cref="AlertPolicy.IsCondition"/>).</param>
/// <param name="Holds">True when it started to hold, false when it cleared.</param>
/// <param name="Message">A sentence for the event and the notice.</param>
/// <param name="Data">The event's data: the figures judged and the rule's threshold.</param>
public sealed record ConditionReading(string Rule, AlertTrigger Trigger, bool Holds, string Message, IReadOnlyList<(string Key, string Value)> Data);

/// <summary>
/// Judges the conditions of a run that alert rules can ask for (issue #24): the per-epoch loss rising k epochs in a
/// row, throughput below a fraction of the run's median, no progress for a while, and the state directory's file
/// system short of free space. The supervisor feeds it what it reads anyway or cheaply (the trainer's
/// training_status.json, the new epoch records of metrics.jsonl, a statvfs) and asks it, per rule, what changed; each
/// rule has its own threshold, so each rule's condition opens and clears on its own. Memory is bounded (the median
/// keeps the last <see cref="ThroughputSamples"/> samples). Not thread-safe: the supervisor's tick owns it.
/// </summary>
public sealed class ConditionJudge
{
    /// <summary>Samples of samples_per_sec the median is taken over (the newest).</summary>
    public const int ThroughputSamples = 256;

    /// <summary>Samples seen before throughput is judged at all: a run's first figures are its warm-up, not its pace.</summary>
    public const int ThroughputWarmup = 5;

    private readonly Dictionary<(string Rule, AlertTrigger Trigger), bool> _reported = [];
    private readonly Queue<double> _throughput = new();

    // The loss series: the training loss and, once the trainer reports one, the validation loss, which is preferred.
    private int _lastEpoch;
    private Series _train;
    private Series _val;

    // Throughput: the newest sample, not yet judged.
    private double? _pendingSample;
    private double _lastSample;
    private double? _lastMedian;
    private DateTimeOffset? _lastHeartbeat;

    // Progress: what the trainer reported last and since when it stands.
    private (long Progress, long Step, int Epoch)? _progress;
    private DateTimeOffset _progressSince;

    // Disk: the last reading.
    private (double FreePercent, long FreeBytes)? _disk;

    /// <summary>True when <paramref name="rule"/> asks for a condition of <paramref name="service"/> judged here.</summary>
    public static bool Wants(AlertRule rule, string service, AlertTrigger trigger) =>
        rule.Covers(service) && rule.On.Contains(trigger) && AlertPolicy.IsCondition(trigger);

    /// <summary>A new run of the service (a restart): progress and throughput are judged from its own figures; the loss history and the disk stay.</summary>
    public void NewRun()
    {
        _throughput.Clear();
        _pendingSample = null;
        _lastMedian = null;
        _lastHeartbeat = null;
        _progress = null;
    }

    /// <summary>The trainer's status of the current run (its pid checked by the caller), as read at <paramref name="now"/>.</summary>
    public void ObserveStatus(TrainingStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var progress = (status.Progress, status.Step, status.CurrentEpoch);
        // A paused trainer stands still on purpose: its stillness counts from when it resumes.
        if (_progress != progress || status.State == TrainerState.Paused)
        {
            _progress = progress;
            _progressSince = now;
        }

        // One sample per status the trainer wrote: a tick that meets the same document again adds nothing. A zero is
        // no measure (the trainer has not timed a window yet, or it is paused): no progress covers a trainer that stops.
        var written = status.Heartbeat ?? status.WrittenAt;
        if (written != _lastHeartbeat)
        {
            _lastHeartbeat = written;
            if (double.IsFinite(status.SamplesPerSec) && status.SamplesPerSec > 0)
            {
                _pendingSample = status.SamplesPerSec;
            }
        }
    }

    /// <summary>An epoch record of the run's metrics.jsonl, in the order written. A record of an epoch already seen (a retrained one) is ignored.</summary>
    public void ObserveEpoch(MetricRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Kind != MetricKind.Epoch || record.Epoch <= _lastEpoch)
        {
            return;
        }

        _lastEpoch = record.Epoch;
        _train = _train.Add(record.Epoch, record.TrainLoss);
        _val = _val.Add(record.Epoch, record.ValLoss);
    }

    /// <summary>The free space of the state directory's file system.</summary>
    public void ObserveDisk(long freeBytes, long totalBytes)
    {
        _disk = totalBytes > 0 ? (100.0 * freeBytes / totalBytes, freeBytes) : null;
    }

    /// <summary>
    /// The conditions of <paramref name="rules"/> for <paramref name="service"/> whose state changed since the last call
    /// (the first judgement of each is a change: the caller reconciles it with what is open). A condition that cannot
    /// be judged yet (no epochs, throughput in warm-up, no status of the run) reports nothing.
    /// </summary>
    public IReadOnlyList<ConditionReading> Judge(IReadOnlyList<AlertRule> rules, string service, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var readings = new List<ConditionReading>();
        var median = JudgeThroughputSample(rules, service);
        foreach (var rule in rules)
        {
            foreach (var trigger in rule.On.Where(t => Wants(rule, service, t)).Distinct())
            {
                var reading = trigger switch
                {
                    AlertTrigger.LossRising => LossRising(rule),
                    AlertTrigger.ThroughputLow => ThroughputLow(rule, median),
                    AlertTrigger.NoProgress => NoProgress(rule, now),
                    AlertTrigger.DiskFull => DiskFull(rule),
                    _ => null,
                };
                if (reading is null)
                {
                    continue;
                }

                var key = (rule.Name, trigger);
                if (!_reported.TryGetValue(key, out var was) || was != reading.Holds)
                {
                    _reported[key] = reading.Holds;
                    readings.Add(reading);
                }
            }
        }

        return readings;
    }

    /// <summary>True when some rule asks for a condition of the service judged from the trainer's figures (status or metrics), or the disk.</summary>
    public static bool AnyWanted(IReadOnlyList<AlertRule> rules, string service, params AlertTrigger[] triggers) =>
        rules.Any(r => triggers.Any(t => Wants(r, service, t)));

    private ConditionReading? LossRising(AlertRule rule)
    {
        // The validation loss where the trainer reports one: it is what overfitting and divergence show in first.
        var (series, figure) = _val.Count > 0 ? (_val, "val_loss") : (_train, "loss");
        if (series.Count == 0)
        {
            return null;
        }

        var k = rule.RisingEpochs ?? AlertRule.DefaultRisingEpochs;
        var holds = series.Rising >= k;
        var data = new List<(string, string)> { ("figure", figure), ("epoch", I(series.LastEpoch)), ("value", I(series.Last)), ("rising_epochs", I(series.Rising)), ("threshold", I(k)), ("rule", rule.Name) };
        return new ConditionReading(rule.Name, AlertTrigger.LossRising, holds, holds
            ? $"the {figure} has risen {series.Rising} epochs in a row (to {I(series.Last)} at epoch {series.LastEpoch}; rising_epochs {k})"
            : $"the {figure} fell again (to {I(series.Last)} at epoch {series.LastEpoch})", data);
    }

    /// <summary>Takes the pending throughput sample into the median, unless some rule finds it low: a collapse must not drag the run's baseline down with it.</summary>
    private double? JudgeThroughputSample(IReadOnlyList<AlertRule> rules, string service)
    {
        if (_pendingSample is not { } sample)
        {
            return _lastMedian;
        }

        // Each sample is judged against the median of the samples before it, once there are enough of them.
        _pendingSample = null;
        _lastSample = sample;
        _lastMedian = _throughput.Count >= ThroughputWarmup ? Median() : null;
        var highest = rules.Where(r => Wants(r, service, AlertTrigger.ThroughputLow)).Select(r => r.ThroughputFraction ?? AlertRule.DefaultThroughputFraction).DefaultIfEmpty(0).Max();
        if (_lastMedian is not { } m || sample >= highest * m)
        {
            _throughput.Enqueue(sample);
            if (_throughput.Count > ThroughputSamples)
            {
                _throughput.Dequeue();
            }
        }

        return _lastMedian;
    }

    private ConditionReading? ThroughputLow(AlertRule rule, double? median)
    {
        if (median is not { } m || _lastSample <= 0)
        {
            return null;
        }

        var fraction = rule.ThroughputFraction ?? AlertRule.DefaultThroughputFraction;
        var holds = _lastSample < fraction * m;
        var data = new List<(string, string)> { ("samples_per_sec", I(_lastSample)), ("median", I(m)), ("threshold", I(fraction)), ("rule", rule.Name) };
        return new ConditionReading(rule.Name, AlertTrigger.ThroughputLow, holds, holds
            ? $"throughput fell to {I(Math.Round(_lastSample, 1))} samples/s, below {I(fraction)} of the run's median {I(Math.Round(m, 1))}"
            : $"throughput is back at {I(Math.Round(_lastSample, 1))} samples/s (the run's median {I(Math.Round(m, 1))})", data);
    }

    private ConditionReading? NoProgress(AlertRule rule, DateTimeOffset now)
    {
        if (_progress is not { } progress)
        {
            return null;
        }

        var limit = TimeSpan.FromMilliseconds(rule.NoProgressMs ?? AlertRule.DefaultNoProgressMs);
        var stalled = now - _progressSince;
        var holds = stalled >= limit;
        var data = new List<(string, string)> { ("progress", I(progress.Progress)), ("step", I(progress.Step)), ("epoch", I(progress.Epoch)), ("threshold_ms", I((long)limit.TotalMilliseconds)), ("rule", rule.Name) };
        return new ConditionReading(rule.Name, AlertTrigger.NoProgress, holds, holds
            ? $"the trainer has made no progress for {stalled.TotalSeconds:0.#} s (step {progress.Step}, epoch {progress.Epoch}; no_progress_ms {(long)limit.TotalMilliseconds})"
            : $"the trainer makes progress again (step {progress.Step}, epoch {progress.Epoch})", data);
    }

    private ConditionReading? DiskFull(AlertRule rule)
    {
        if (_disk is not { } disk)
        {
            return null;
        }

        var threshold = rule.DiskFreePercent ?? AlertRule.DefaultDiskFreePercent;
        var holds = disk.FreePercent < threshold;
        var data = new List<(string, string)> { ("free_percent", I(Math.Round(disk.FreePercent, 2))), ("free_mb", I(disk.FreeBytes / (1024 * 1024))), ("threshold", I(threshold)), ("rule", rule.Name) };
        return new ConditionReading(rule.Name, AlertTrigger.DiskFull, holds, holds
            ? $"the state directory's file system has {disk.FreePercent:0.##} % free ({disk.FreeBytes / (1024 * 1024)} MB), under disk_free_percent {I(threshold)}: free space before checkpoints and logs fail to write"
            : $"the state directory's file system has {disk.FreePercent:0.##} % free again ({disk.FreeBytes / (1024 * 1024)} MB)", data);
    }

    private double Median()
    {
        var sorted = _throughput.ToArray();
        Array.Sort(sorted);
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string I(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>One loss figure per epoch: its last value and how many epochs in a row it rose.</summary>
    private readonly record struct Series(int Count, int LastEpoch, double Last, int Rising)
    {
        public Series Add(int epoch, double? value)
        {
            // A missing or non-finite figure (loss_not_finite reports those) neither rises nor breaks the run of rises.
            if (value is not { } v || !double.IsFinite(v))
            {
                return this;
            }

            return new Series(Count + 1, epoch, v, Count > 0 && v > Last ? Rising + 1 : 0);
        }
    }
}
