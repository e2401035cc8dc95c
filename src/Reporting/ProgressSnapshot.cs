using StabilityTools.Engine.Models;

namespace StabilityTools.Reporting;

/// <summary>The training thread's latest position, handed to the status writer (latest wins).</summary>
internal sealed record ProgressSnapshot
{
    /// <summary>Where the run stands.</summary>
    public TrainerState State { get; init; } = TrainerState.Starting;

    /// <summary>The epoch in progress (or last completed when not running).</summary>
    public int Epoch { get; init; }

    /// <summary>Epochs in the run.</summary>
    public int TotalEpochs { get; init; }

    /// <summary>Steps so far.</summary>
    public long Step { get; init; }

    /// <summary>Steps in the run.</summary>
    public long TotalSteps { get; init; }

    /// <summary>The latest training loss (running mean of the epoch).</summary>
    public double Loss { get; init; }

    /// <summary>The latest validation accuracy.</summary>
    public double Accuracy { get; init; }

    /// <summary>The latest validation loss.</summary>
    public double? ValLoss { get; init; }

    /// <summary>Recent throughput.</summary>
    public double SamplesPerSec { get; init; }

    /// <summary>Estimated seconds to the end.</summary>
    public double? EtaSeconds { get; init; }

    /// <summary>The progress counter the supervisor watches.</summary>
    public long Progress { get; init; }

    /// <summary>The newest checkpoint or the final model.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Why the run failed.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>When training last made progress.</summary>
    public DateTimeOffset LastUpdate { get; init; }
}
