using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Where a service's supervisor runs, and all that only that place knows (docs/ARCHITECTURE.md, "The backend seam"): how to launch it, what it hands out first, whether a job of it is still queued or running,
/// what the scheduler adds to the status a supervisor wrote, and how to stop it when that takes more than a control
/// request. <see cref="ProcessManager"/> orchestrates; a backend is picked per spec (<see cref="LocalBackend"/>, or
/// <see cref="SlurmBackend"/> for a spec with Slurm options).
/// </summary>
internal interface IServiceBackend
{
    /// <summary>Launches the supervisor of <paramref name="service"/>, which reads its spec from <paramref name="state"/>.</summary>
    Task<SupervisorLaunch> LaunchAsync(StateDirectory state, string service, CancellationToken cancellationToken);

    /// <summary>Gives (or releases) what the service gets before its supervisor runs, e.g. local GPUs.</summary>
    /// <exception cref="Errors.ResourceConflictException">What it needs is held exclusively by another service.</exception>
    void PrepareResources(ServiceSpec spec, IProgress<string>? progress);

    /// <summary>The service's job while it is queued or running under a scheduler; null when there is none.</summary>
    BackendJob? UnfinishedJob(string name);

    /// <summary>Adds what the backend knows to <paramref name="info"/>, judged from the supervisor's <paramref name="status"/>.</summary>
    ServiceInfo Merge(ServiceInfo info, ProcessStatus? status);

    /// <summary>Stops the service where the backend must (a scheduler's job); false when the ordinary stop through the supervisor applies.</summary>
    Task<bool> TryStopAsync(string name, ServiceSpec spec, TimeSpan? timeout, bool force, IProgress<string>? progress, CancellationToken cancellationToken);
}

/// <summary>A service's job under a scheduler.</summary>
/// <param name="JobId">The scheduler's id.</param>
/// <param name="State">The scheduler's word for its state, e.g. <c>PENDING</c>.</param>
internal sealed record BackendJob(string JobId, string State);
