namespace StabilityTools.Engine.Errors;

/// <summary>
/// The cluster scheduler (Slurm) refused or failed a request: its tools are missing, <c>sbatch</c> rejected the job,
/// <c>scancel</c> failed. The message holds what the scheduler said and what to do.
/// </summary>
public sealed class SchedulerException : StabilityException
{
    /// <summary>Creates the exception.</summary>
    public SchedulerException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>The job concerned, when there is one.</summary>
    public string? JobId { get; init; }

    /// <inheritdoc />
    public override string ErrorId => "SchedulerError";
}
