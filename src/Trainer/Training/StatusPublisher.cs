using System.Collections.Concurrent;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Trainer.Training;

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
internal sealed partial class StatusPublisher : IDisposable
{
    private readonly SharedDataManager _shared;
    private readonly TimeSpan _interval;
    private readonly string _runId;
    private readonly string _device;
    private readonly ConcurrentQueue<MetricRecord> _metrics = new();
    private readonly ConcurrentQueue<StabilityEvent> _events = new();
    private readonly HashSet<int> _recordedEpochs;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _thread;
    private readonly object _flushGate = new();
    private long _maxRecordedStep;
    private ProgressSnapshot? _progress;
    private ModelMetrics? _modelMetrics;
    private MarketData? _market;
    private long _requested;
    private long _completed;
    private int _failures;
    private bool _suspended;
    private long _busyTicks;
    private int _writerTid;
    private long _finalCpuTicks = -1;

    /// <summary>Starts the writer thread (none when <paramref name="enabled"/> is false: nothing is written).</summary>
    public StatusPublisher(SharedDataManager shared, string runId, string device, TimeSpan interval, bool enabled)
    {
        _shared = shared;
        _runId = runId;
        _device = device;
        _interval = interval;
        Enabled = enabled;
        _recordedEpochs = [];
        if (enabled)
        {
            var existing = shared.Metrics.ReadAll().Records.Where(r => r.RunId == runId).ToList();
            _recordedEpochs = existing.Where(r => r.Kind == "epoch").Select(r => r.Epoch).ToHashSet();
            _maxRecordedStep = existing.Where(r => r.Kind == "step").Select(r => r.Step).DefaultIfEmpty(0).Max();
            _thread = new Thread(Run) { IsBackground = true, Name = "status-writer" };
            _thread.Start();
        }
    }

    /// <summary>False when status writing is off (benchmarks).</summary>
    public bool Enabled { get; }

    /// <summary>While true the writer thread writes nothing (reports still pile up, latest wins). For benchmarks that
    /// compare training with and without status writing inside one run.</summary>
    public bool Suspended
    {
        get => Volatile.Read(ref _suspended);
        set => Volatile.Write(ref _suspended, value);
    }

    /// <summary>Wall time the writer thread spent writing (fsync waits included), for benchmarks.</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    /// <summary>CPU time (user + system) the writer thread has used, from /proc (Linux; null elsewhere). For benchmarks.</summary>
    public TimeSpan? WriterCpuTime => Volatile.Read(ref _writerTid) is var tid and > 0 ? ThreadCpuTime(tid) ?? FinalCpu : null;

    private TimeSpan? FinalCpu => Interlocked.Read(ref _finalCpuTicks) is var t and >= 0 ? TimeSpan.FromTicks(t) : null;

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
        if (OperatingSystem.IsLinux())
        {
            Volatile.Write(ref _writerTid, GetTid());
        }

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

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            WriteOnce();
            Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
            lock (_flushGate)
            {
                _completed = Math.Max(_completed, target);
                Monitor.PulseAll(_flushGate);
            }
        }

        // The thread's /proc entry goes away with it: keep its final CPU time.
        if (ThreadCpuTime(Volatile.Read(ref _writerTid)) is { } cpu)
        {
            Interlocked.Exchange(ref _finalCpuTicks, cpu.Ticks);
        }
    }

    /// <summary>User + system CPU time of one of this process's threads, from /proc (Linux).</summary>
    private static TimeSpan? ThreadCpuTime(int tid)
    {
        if (tid <= 0 || !OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            // Fields after the ")" of the command name: state is field 3, utime 14 and stime 15 (clock ticks, USER_HZ = 100).
            var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private void WriteOnce()
    {
        if (Suspended)
        {
            return;
        }

        Try(() =>
        {
            var records = new List<MetricRecord>();
            while (_metrics.TryDequeue(out var record))
            {
                lock (_recordedEpochs)
                {
                    if (record.Kind == "epoch" ? _recordedEpochs.Add(record.Epoch) : record.Step > _maxRecordedStep)
                    {
                        records.Add(record);
                        if (record.Kind == "step")
                        {
                            _maxRecordedStep = record.Step;
                        }
                    }
                }
            }

            _shared.Metrics.AppendRange(records);
        });

        Try(() =>
        {
            var events = new List<StabilityEvent>();
            while (_events.TryDequeue(out var e))
            {
                events.Add(e);
            }

            _shared.Events.AppendRange(events);
        });

        if (Interlocked.Exchange(ref _modelMetrics, null) is { } metrics)
        {
            Try(() => _shared.WriteModelMetrics(metrics));
        }

        if (Interlocked.Exchange(ref _market, null) is { } market)
        {
            Try(() => _shared.WriteMarketData(market));
        }

        if (Volatile.Read(ref _progress) is { } p)
        {
            var now = DateTimeOffset.UtcNow;
            Try(() => _shared.WriteTrainingStatus(new TrainingStatus
            {
                IsRunning = p.State is "starting" or "running",
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

    private void Try(Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A status write must never stop training: count it, say it (rate-limited), and try again next round.
            var failures = Interlocked.Increment(ref _failures);
            if (failures <= 5 || failures % 100 == 0)
            {
                Console.Error.WriteLine($"stability-trainer: status write failed ({failures} so far): {ex.Message}");
            }
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
