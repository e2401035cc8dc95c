using System.Diagnostics;

namespace StabilityTools.Supervisor;

/// <summary>One run of the service: one process, from spawn to reaped exit.</summary>
internal sealed class ServiceRun
{
    public ServiceRun(int generation, Process process, long startTicks, DateTimeOffset startedAt)
    {
        Generation = generation;
        Process = process;
        Pid = process.Id;
        StartTicks = startTicks;
        StartedAt = startedAt;
    }

    public int Generation { get; }

    public Process Process { get; }

    /// <summary>The service's pid; also its session and process group id (it runs under setsid).</summary>
    public int Pid { get; }

    public long StartTicks { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Completes with the exit code once .NET has reaped the process.</summary>
    public TaskCompletionSource<int> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the supervisor ends this run on purpose (stop, restart): its exit is not a crash.</summary>
    public bool Stopping { get; set; }

    /// <summary>Why the supervisor killed it as hung, when it did: its exit then counts as a failure.</summary>
    public string? HangReason { get; set; }

    /// <summary>True once it counted as <c>running</c>.</summary>
    public bool Promoted { get; set; }

    /// <summary>A loss that is not finite was reported for this run (once per run: it rarely recovers by itself).</summary>
    public bool LossReported { get; set; }

    public CancellationTokenSource Monitors { get; } = new();
}
