namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/slurm.json</c> (schema <c>slurm_job/1</c>): the Slurm job that runs a service's supervisor,
/// written by the submit. Status, stop and restart find the job through it.
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
}
