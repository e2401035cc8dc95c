using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.Training;

/// <summary>Training ended without completing: the trainer failed or was stopped, or its supervisor gave up.</summary>
public sealed class TrainingFailedException : StabilityException
{
    /// <summary>Creates the exception with the report that showed the end.</summary>
    public TrainingFailedException(string message, TrainingStatusReport report)
        : base(message)
    {
        Report = report;
        Path = report.Path;
        Service = TrainingMonitor.ServiceName;
    }

    /// <summary>The status that showed the failure.</summary>
    public TrainingStatusReport Report { get; }

    /// <inheritdoc />
    public override string ErrorId => Report.ServiceState == Models.ServiceState.Fatal ? "TrainingFatal"
        : Report.TrainerState == Models.TrainerState.Stopped || Report.ServiceState == Models.ServiceState.Stopped ? "TrainingStopped"
        : "TrainingFailed";
}
