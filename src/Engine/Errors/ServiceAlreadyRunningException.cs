namespace StabilityTools.Engine.Errors;

/// <summary>A start was refused: a live supervisor already runs the service (there are never two).</summary>
public sealed class ServiceAlreadyRunningException : ResourceConflictException
{
    /// <summary>Creates the exception for <paramref name="service"/>, supervised by <paramref name="supervisorPid"/>.</summary>
    public ServiceAlreadyRunningException(string service, int supervisorPid)
        : base($"service {service}",
               $"The service '{service}' is already running (supervisor pid {supervisorPid}). Stop it first, " +
               "or use Restart-StabilityProcess to restart it.")
    {
        Service = service;
        SupervisorPid = supervisorPid;
    }

    /// <summary>Creates the exception for <paramref name="service"/>, whose Slurm job <paramref name="jobId"/> is still pending or running.</summary>
    public ServiceAlreadyRunningException(string service, string jobId, string jobState)
        : base($"service {service}",
               $"The service '{service}' already has Slurm job {jobId} ({jobState.ToLowerInvariant()}). Stop it first (Stop-TrainingProcess -Name {service}), " +
               "or use Restart-StabilityProcess to restart it.")
    {
        Service = service;
        JobId = jobId;
    }

    /// <summary>The Slurm job that runs (or will run) the service, when that is what holds it.</summary>
    public string? JobId { get; }

    /// <summary>The live supervisor's pid.</summary>
    public int SupervisorPid { get; }

    /// <inheritdoc />
    public override string ErrorId => "ServiceAlreadyRunning";
}
