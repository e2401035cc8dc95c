using Serilog;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// From the tick, at each heartbeat while a run lives: one point of the service's <c>system_metrics.jsonl</c> (issue
/// #24), the same CPU, memory and GPU memory that go into status.json, in the run's folder for a service with a run
/// (the service's own folder for a run handed to another user: <see cref="SystemMetricsHistory.PathForSpec"/>).
/// </summary>
/// <remarks>
/// A failed append never stops the tick: it is logged, like a failed status.json write, and an unsafe file (a link, a
/// file of someone else's) is refused through the supervisor's refusal report. Used from the tick only (under its gate).
/// </remarks>
internal sealed class SystemMetricsRecorder
{
    private readonly StateDirectory _state;
    private readonly string _name;
    private readonly ILogger _log;
    private readonly Action<UnsafeFileException> _refused;
    private SystemMetricsHistory? _history;

    public SystemMetricsRecorder(StateDirectory state, string name, ILogger log, Action<UnsafeFileException> refused)
    {
        _state = state;
        _name = name;
        _log = log;
        _refused = refused;
    }

    /// <summary>Appends one heartbeat sample of the running <paramref name="pid"/>, in the history <paramref name="spec"/> says.</summary>
    public void Record(ServiceSpec spec, DateTimeOffset now, int pid, double cpuPercent, double memoryMb, double? gpuMemoryMb)
    {
        try
        {
            var path = SystemMetricsHistory.PathForSpec(_state, _name, spec);
            // One history per file, kept between heartbeats: it counts the file's points once, not at every append.
            if (_history?.Path != path)
            {
                _history = new SystemMetricsHistory(path);
            }

            var compactions = _history.Compactions;
            _history.Append(new SystemMetricsPoint
            {
                Time = now,
                SpanMs = 0,
                Samples = 1,
                Pid = pid,
                CpuPercent = cpuPercent,
                CpuMaxPercent = cpuPercent,
                MemoryMb = memoryMb,
                MemoryMaxMb = memoryMb,
                GpuMemoryMb = gpuMemoryMb,
                GpuMemoryMaxMb = gpuMemoryMb,
            });
            if (_history.Compactions != compactions)
            {
                // A compaction reads and rewrites the whole file (every ~512 heartbeats): the heap regions its garbage
                // took stay committed otherwise, about 1 MB a supervisor for good (bench/RESULTS.md, idle-pss.sh
                // PREFILL). One aggressive collection of a heap this small costs a millisecond and gives them back.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
        }
        catch (StatusWriteException ex) when (ex.InnerException is UnsafeFileException refused)
        {
            _refused(refused);
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            _log.Error(ex, "Could not append to {File}", SystemMetricsHistory.FileName);
        }
    }
}
