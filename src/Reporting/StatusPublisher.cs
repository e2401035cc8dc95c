using System.Collections.Concurrent;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Reporting;

/// <summary>
/// Writes the trainer's status on a background thread, so that a slow or locked status file delays a status
/// write, never a training step.
/// </summary>
/// <remarks>
/// Concurrency: the training thread only swaps in immutable snapshots (<see cref="Report"/>,
/// <see cref="ReportMetrics"/>, <see cref="ReportMarket"/>: latest wins, older unwritten ones are dropped) and
/// enqueues log records (<see cref="Enqueue(MetricRecord)"/>, <see cref="Enqueue(StabilityEvent)"/>: all kept, in
/// order). One writer thread wakes every interval (or when nudged), and writes <c>training_status.json</c> with a
/// fresh heartbeat each time, then whatever else is new. Write failures are counted and reported on stderr,
/// never thrown into training. <see cref="Flush"/> waits, bounded, until everything reported before it is written.
/// Epoch records already in <c>metrics.jsonl</c> for this run (from before a restart) are not written again, nor
/// step records at or below the highest step already there.
/// </remarks>
internal sealed class StatusPublisher : IDisposable
{
    private const int MaxUnwritten = 10_000;

    private readonly SharedDataManager _shared;
    private readonly TimeSpan _interval;
    private readonly string _runId;
    private readonly string _device;
    private readonly ConcurrentQueue<MetricRecord> _metrics = new();
    private readonly ConcurrentQueue<StabilityEvent> _events = new();
    private readonly HashSet<int> _recordedEpochs;
    private readonly List<MetricRecord> _unwrittenMetrics = [];
    private readonly List<StabilityEvent> _unwrittenEvents = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _thread;
    private readonly object _flushGate = new();
    private long _maxRecordedStep;
    private ProgressSnapshot? _progress;
    private ModelMetrics? _modelMetrics;
    private MarketData? _market;
    private readonly StatusWriterHooks? _hooks;
    private long _requested;
    private long _completed;
    private int _failures;

    /// <summary>Starts the writer thread (none when <paramref name="enabled"/> is false: nothing is written).</summary>
    /// <param name="shared">The state directory's documents and logs.</param>
    /// <param name="runId">The run, written in <c>training_status.json</c>.</param>
    /// <param name="device">The device, written in <c>training_status.json</c>.</param>
    /// <param name="interval">How often the writer thread writes (a fresh heartbeat each time).</param>
    /// <param name="enabled">False to write nothing (benchmarks).</param>
    /// <param name="hooks">Wrappers around the writer thread (benchmarks); null for none.</param>
    public StatusPublisher(SharedDataManager shared, string runId, string device, TimeSpan interval, bool enabled, StatusWriterHooks? hooks = null)
    {
        _hooks = hooks;
        _shared = shared;
        _runId = runId;
        _device = device;
        _interval = interval;
        Enabled = enabled;
        _recordedEpochs = [];
        if (enabled)
        {
            var existing = shared.Metrics.ReadAll().Records.Where(r => r.RunId == runId).ToList();
            _recordedEpochs = existing.Where(r => r.Kind == MetricKind.Epoch).Select(r => r.Epoch).ToHashSet();
            _maxRecordedStep = existing.Where(r => r.Kind == MetricKind.Step).Select(r => r.Step).DefaultIfEmpty(0).Max();
            _thread = new Thread(hooks?.Thread is { } wrap ? () => wrap(Run) : Run) { IsBackground = true, Name = "status-writer" };
            _thread.Start();
        }
    }

    /// <summary>False when status writing is off (benchmarks).</summary>
    public bool Enabled { get; }

    /// <summary>Status writes that failed so far.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Epochs this run has in <c>metrics.jsonl</c> already.</summary>
    public bool IsEpochRecorded(int epoch)
    {
        lock (_recordedEpochs)
        {
            return _recordedEpochs.Contains(epoch);
        }
    }

    /// <summary>The latest progress handed over, if any.</summary>
    public ProgressSnapshot? Latest => Volatile.Read(ref _progress);

    /// <summary>Hands over the latest progress.</summary>
    public void Report(ProgressSnapshot snapshot) => Volatile.Write(ref _progress, snapshot);

    /// <summary>Hands over the latest metrics snapshot.</summary>
    public void ReportMetrics(ModelMetrics metrics)
    {
        Volatile.Write(ref _modelMetrics, metrics);
        Nudge();
    }

    /// <summary>Hands over the latest market window with predictions.</summary>
    public void ReportMarket(MarketData market) => Volatile.Write(ref _market, market);

    /// <summary>Queues a metrics record.</summary>
    public void Enqueue(MetricRecord record)
    {
        if (Enabled)
        {
            _metrics.Enqueue(record);
        }
    }

    /// <summary>Queues an event.</summary>
    public void Enqueue(StabilityEvent stabilityEvent)
    {
        if (Enabled)
        {
            _events.Enqueue(stabilityEvent);
            Nudge();
        }
    }

    /// <summary>Writes now, on the writer thread, everything reported so far; waits at most <paramref name="timeout"/>.</summary>
    /// <returns>True when everything was written in time.</returns>
    public bool Flush(TimeSpan timeout)
    {
        if (!Enabled)
        {
            return true;
        }

        long target;
        lock (_flushGate)
        {
            target = ++_requested;
        }

        _wake.Release();
        var deadline = DateTime.UtcNow + timeout;
        lock (_flushGate)
        {
            while (_completed < target)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_flushGate, left))
                {
                    return _completed >= target;
                }
            }
        }

        return true;
    }

    /// <summary>Stops the writer thread after a last bounded flush.</summary>
    public void Dispose()
    {
        if (_thread is not null)
        {
            Flush(TimeSpan.FromSeconds(2));
            _stop.Cancel();
            _wake.Release();
            _thread.Join(TimeSpan.FromSeconds(2));
        }
    }

    private void Nudge()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _wake.Wait(_interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            long target;
            lock (_flushGate)
            {
                target = _requested;
            }

            if (_hooks?.Round is { } round)
            {
                round(WriteOnce);
            }
            else
            {
                WriteOnce();
            }

            lock (_flushGate)
            {
                _completed = Math.Max(_completed, target);
                Monitor.PulseAll(_flushGate);
            }
        }
    }

    private void WriteOnce()
    {
        // Records leave the queue for a writer-thread list and leave that list only once appended, so a failed
        // append (a lock held too long, a full disk) is retried next round rather than lost.
        while (_metrics.TryDequeue(out var record))
        {
            _unwrittenMetrics.Add(record);
        }

        if (_unwrittenMetrics.Count > MaxUnwritten)
        {
            // Writes have failed for a long time: keep the newest. Epoch records dropped here come back from the
            // checkpoint's history when the trainer next starts.
            _unwrittenMetrics.RemoveRange(0, _unwrittenMetrics.Count - MaxUnwritten);
        }

        List<MetricRecord> records;
        lock (_recordedEpochs)
        {
            var epochs = new HashSet<int>(_recordedEpochs);
            var maxStep = _maxRecordedStep;
            records = [];
            foreach (var r in _unwrittenMetrics)
            {
                if (r.Kind == MetricKind.Epoch ? epochs.Add(r.Epoch) : r.Step > maxStep)
                {
                    records.Add(r);
                    maxStep = r.Kind == MetricKind.Step ? r.Step : maxStep;
                }
            }
        }

        if (Try(() => _shared.Metrics.AppendRange(records)))
        {
            _unwrittenMetrics.Clear();
            lock (_recordedEpochs)
            {
                foreach (var r in records)
                {
                    if (r.Kind == MetricKind.Epoch)
                    {
                        _recordedEpochs.Add(r.Epoch);
                    }
                    else
                    {
                        _maxRecordedStep = Math.Max(_maxRecordedStep, r.Step);
                    }
                }
            }
        }

        while (_events.TryDequeue(out var e))
        {
            _unwrittenEvents.Add(e);
        }

        if (Try(() => _shared.Events.AppendRange(_unwrittenEvents)))
        {
            _unwrittenEvents.Clear();
        }

        // Latest wins: a failed document goes back unless a newer one arrived meanwhile.
        if (Interlocked.Exchange(ref _modelMetrics, null) is { } metrics && !Try(() => _shared.WriteModelMetrics(metrics)))
        {
            Interlocked.CompareExchange(ref _modelMetrics, metrics, null);
        }

        if (Interlocked.Exchange(ref _market, null) is { } market && !Try(() => _shared.WriteMarketData(market)))
        {
            Interlocked.CompareExchange(ref _market, market, null);
        }

        if (Volatile.Read(ref _progress) is { } p)
        {
            var now = DateTimeOffset.UtcNow;
            Try(() => _shared.WriteTrainingStatus(new TrainingStatus
            {
                IsRunning = p.State is TrainerState.Starting or TrainerState.Running,
                State = p.State,
                CurrentEpoch = p.Epoch,
                TotalEpochs = p.TotalEpochs,
                Loss = p.Loss,
                Accuracy = p.Accuracy,
                ValLoss = p.ValLoss,
                LastUpdate = p.LastUpdate,
                ModelPath = p.ModelPath,
                ErrorMessage = p.ErrorMessage,
                RunId = _runId,
                Step = p.Step,
                TotalSteps = p.TotalSteps,
                SamplesPerSec = p.SamplesPerSec,
                EtaSeconds = p.EtaSeconds,
                Device = _device,
                Heartbeat = now,
                Progress = p.Progress,
                Pid = Environment.ProcessId,
            }));
        }
    }

    private bool Try(Action write)
    {
        try
        {
            write();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A status write must never stop training: count it, say it (rate-limited), and try again next round.
            var failures = Interlocked.Increment(ref _failures);
            if (failures <= 5 || failures % 100 == 0)
            {
                Console.Error.WriteLine($"stability-trainer: status write failed ({failures} so far): {ex.Message}");
            }

            return false;
        }
    }

}
