namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/slurm.json</c> (schema <c>slurm_job/1</c>): the Slurm job that runs a service's supervisor,
/// written by the submit. Status, stop and restart find the job through it; and what Slurm last said of the job (state,
/// pending reason, node) is recorded in it by every command that asked (the submit, <c>Get-ProcessStatus</c>), so that a
/// reader that never calls Slurm, the dashboard, can show why a job waits.
/// </summary>
public sealed record SlurmJobRecord : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "slurm_job";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The job id.</summary>
    public string JobId { get; init; } = "";

    /// <summary>When it was submitted, UTC.</summary>
    public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The host it was submitted from.</summary>
    public string SubmitHost { get; init; } = "";

    /// <summary>The batch script.</summary>
    public string Script { get; init; } = "";

    /// <summary>The sbatch options it was submitted with.</summary>
    public IReadOnlyList<string> SbatchArguments { get; init; } = [];

    /// <summary>The job's state in Slurm's words (<c>PENDING</c>, <c>RUNNING</c>, <c>COMPLETED</c>…) when a command last asked; null before any did.</summary>
    public string? JobState { get; init; }

    /// <summary>Why Slurm held the job back (<c>Priority</c>, <c>Resources</c>, <c>JobHeldUser</c>…), when it was pending as last seen; null otherwise.</summary>
    public string? Reason { get; init; }

    /// <summary>The node that runs the job's batch script (its supervisor), once Slurm gave it one, as last seen.</summary>
    public string? Node { get; init; }

    /// <summary>When a command last asked Slurm about the job and recorded the answer (UTC); null before any did.</summary>
    public DateTimeOffset? ObservedAt { get; init; }
}
