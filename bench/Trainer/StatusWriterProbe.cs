using System.Diagnostics;
using System.Globalization;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Bench.Trainer;

/// <summary>
/// What the trainer's status writer thread costs, measured from outside the product through its
/// <see cref="StatusWriterHooks"/>: wall time spent in write rounds, the thread's CPU time from /proc (Linux), and a
/// switch that skips write rounds so one run can compare training with and without status writing.
/// </summary>
internal sealed class StatusWriterProbe
{
    private long _busyTicks;
    private int _writerTid;
    private long _finalCpuTicks = -1;
    private bool _suspended;

    /// <summary>The hooks to hand to the session.</summary>
    public StatusWriterHooks Hooks => new() { Thread = RunThread, Round = RunRound };

    /// <summary>While true the writer thread writes nothing (reports still pile up, latest wins).</summary>
    public bool Suspended
    {
        get => Volatile.Read(ref _suspended);
        set => Volatile.Write(ref _suspended, value);
    }

    /// <summary>Wall time the writer thread spent writing (fsync waits included).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    /// <summary>CPU time (user + system) the writer thread has used, from /proc (Linux; null elsewhere).</summary>
    public TimeSpan? WriterCpuTime => Volatile.Read(ref _writerTid) is var tid and > 0 ? ThreadCpuTime(tid) ?? FinalCpu : null;

    private TimeSpan? FinalCpu => Interlocked.Read(ref _finalCpuTicks) is var t and >= 0 ? TimeSpan.FromTicks(t) : null;

    private void RunThread(Action body)
    {
        Volatile.Write(ref _writerTid, CurrentThreadId());
        try
        {
            body();
        }
        finally
        {
            // The thread's /proc entry goes away with it: keep its final CPU time.
            if (ThreadCpuTime(Volatile.Read(ref _writerTid)) is { } cpu)
            {
                Interlocked.Exchange(ref _finalCpuTicks, cpu.Ticks);
            }
        }
    }

    private void RunRound(Action round)
    {
        if (Suspended)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        round();
        Interlocked.Add(ref _busyTicks, Stopwatch.GetElapsedTime(started).Ticks);
    }

    /// <summary>The calling thread's kernel id (Linux: <c>/proc/thread-self</c> links to <c>PID/task/TID</c>); 0 elsewhere.</summary>
    private static int CurrentThreadId()
    {
        try
        {
            return OperatingSystem.IsLinux() && new FileInfo("/proc/thread-self").LinkTarget is { } target
                ? int.Parse(target[(target.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture)
                : 0;
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            return 0;
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
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
