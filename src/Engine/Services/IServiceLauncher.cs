using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Where a service's supervisor runs: a detached local process (<see cref="LocalLauncher"/>) or, later, a job on a
/// cluster scheduler running the same supervisor against shared storage. The only seam that knows.
/// </summary>
public interface IServiceLauncher
{
    /// <summary>Starts the supervisor of <paramref name="service"/>; it reads its spec from <paramref name="state"/>.</summary>
    /// <returns>A handle for watching the launch; the caller disposes it.</returns>
    /// <exception cref="Errors.ServiceStartException">The supervisor could not be launched at all.</exception>
    Task<SupervisorLaunch> LaunchAsync(StateDirectory state, string service, CancellationToken cancellationToken);
}
