using System.Diagnostics;

namespace StabilityTools.Supervisor;

/// <summary>One run of the service: one process, from spawn (or adoption from a dead predecessor) to its exit.</summary>
internal sealed class ServiceRun
{
    public ServiceRun(int generation, Process? process, int pid, long startTicks, DateTimeOffset startedAt, string? pipe)
    {
        Generation = generation;
        Process = process;
        Pid = pid;
        StartTicks = startTicks;
        StartedAt = startedAt;
        Pipe = pipe;
    }

    public int Generation { get; }

    /// <summary>The process as .NET started it; null for a run taken over from a dead supervisor (not this one's child).</summary>
    public Process? Process { get; }

    /// <summary>Taken over from a supervisor that died (issue #22): its exit is watched through a pidfd and its exit status is not known.</summary>
    public bool Adopted => Process is null;

    /// <summary>The id of the named pipes its output comes through (<see cref="Engine.Platform.OutputPipe"/>).</summary>
    public string? Pipe { get; }

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
