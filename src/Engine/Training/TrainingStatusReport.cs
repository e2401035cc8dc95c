using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Training;

/// <summary>
/// What a reader knows of the training run: the trainer's <c>training_status.json</c> as found (with its read
/// state and the heartbeat's age) and, when a supervisor runs the trainer, the service's state. The output of
/// <c>Get-TrainingStatus</c> and <c>Wait-Training</c>.
/// </summary>
public sealed class TrainingStatusReport
{
    /// <summary>Creates the report.</summary>
    public TrainingStatusReport(ReadResult<TrainingStatus> read, ProcessStatus? service, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(read);
        ReadState = read.State;
        Path = read.Path;
        ReadError = read.Error;
        Status = read.Document;
        ServiceState = service?.Status;
        Restarts = service?.Restarts ?? 0;
        if (Status is { Heartbeat: not null } beating)
        {
            HeartbeatAge = Liveness.HeartbeatAge(beating, now);
        }

        IsStale = Status is not null && Liveness.IsStale(Status, now, Liveness.TrainerStaleAfter);
    }

    /// <summary>True when the trainer says it runs but has not beaten its heartbeat for <see cref="Liveness.TrainerStaleAfter"/>: hung or gone (the rule the dashboard uses too).</summary>
    public bool IsStale { get; }

    /// <summary>The trainer's document, when one could be read.</summary>
    public TrainingStatus? Status { get; }

    /// <summary>How the document read: Ok, Stale, Missing, Corrupt, Oversized or Unreadable.</summary>
    public ReadState ReadState { get; }

    /// <summary>The document's path.</summary>
    public string Path { get; }

    /// <summary>Why the document could not be used, when it could not.</summary>
    public string? ReadError { get; }

    /// <summary>The training service's state from its supervisor, or null when no supervisor reports one.</summary>
    public ServiceState? ServiceState { get; }

    /// <summary>Restarts of the training service so far (0 without a supervisor).</summary>
    public int Restarts { get; }

    /// <summary>
    /// The trainer's state as the status files name it (<c>starting</c>, <c>running</c>, <c>paused</c>, <c>completed</c>,
    /// <c>stopped</c>, <c>failed</c>, <c>unknown</c> for a word this version does not know), or the read state without a
    /// document (<c>missing</c>, <c>corrupt</c>, ...).
    /// </summary>
    public string State => Status is { } status ? StatusJson.WireName(status.State) : StatusJson.WireName(ReadState);

    /// <summary>The trainer's state, typed; null without a document.</summary>
    public TrainerState? TrainerState => Status?.State;

    /// <summary>The epoch in progress (or last completed).</summary>
    public int Epoch => Status?.CurrentEpoch ?? 0;

    /// <summary>Epochs in the run.</summary>
    public int TotalEpochs => Status?.TotalEpochs ?? 0;

    /// <summary>The latest training loss.</summary>
    public double? Loss => Status?.Loss;

    /// <summary>The latest validation accuracy, 0..1.</summary>
    public double? Accuracy => Status?.Accuracy;

    /// <summary>Training throughput.</summary>
    public double? SamplesPerSec => Status?.SamplesPerSec;

    /// <summary>The trainer's estimate of the time left.</summary>
    public TimeSpan? Eta => Status?.EtaSeconds is { } s && double.IsFinite(s) && s >= 0 ? TimeSpan.FromSeconds(Math.Round(s)) : null;

    /// <summary>How old the trainer's last heartbeat was when read.</summary>
    public TimeSpan? HeartbeatAge { get; }

    /// <summary>The run id.</summary>
    public string? RunId => Status?.RunId ?? RunIdRead;

    /// <summary>The run whose folder was read; null when there was none to read.</summary>
    public string? RunIdRead { get; init; }

    /// <summary>The trainer service the report judges by.</summary>
    public string? Service { get; init; }

    /// <summary>The newest checkpoint or the final model.</summary>
    public string? ModelPath => Status?.ModelPath;

    /// <summary>Why training failed, when it did.</summary>
    public string? ErrorMessage => Status?.ErrorMessage;

    /// <summary>Fraction of the run done, 0..1, by steps.</summary>
    public double PercentComplete => Status is { TotalSteps: > 0 } s ? Math.Clamp((double)s.Step / s.TotalSteps, 0, 1) : 0;
}
