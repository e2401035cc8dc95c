using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>Supervisors as detached processes on this machine: GPUs are given here, before the launch.</summary>
internal sealed class LocalBackend(IServiceLauncher launcher, StateDirectory state, StatusStore store) : IServiceBackend
{
    private IGpuProbe? _gpuProbe;

    public Task<SupervisorLaunch> LaunchAsync(StateDirectory stateDirectory, string service, CancellationToken cancellationToken) =>
        launcher.LaunchAsync(stateDirectory, service, cancellationToken);

    public void PrepareResources(ServiceSpec spec, IProgress<string>? progress)
    {
        // Given (or refused, on an exclusive conflict) before anything is launched; the dashboard gets none. The
        // supervisor passes the allocation on as CUDA_VISIBLE_DEVICES.
        var gpus = new ResourceManager(state, _gpuProbe ??= GpuProbe.Detect(), store)
            .AllocateGpuResources(spec.Name, isDashboard: spec.Kind is ServiceKind.Dashboard or ServiceKind.Sweep || spec.HideGpus,
                devices: spec.GpuDevices, exclusive: spec.GpuExclusive);
        if (gpus.Devices.Count > 0)
        {
            progress?.Report($"GPUs {ResourceManager.CudaVisibleDevices(gpus)} given to '{spec.Name}'.");
        }
    }

    public BackendJob? UnfinishedJob(string name) => null;

    public ServiceInfo Merge(ServiceInfo info, ProcessStatus? status) => info;

    public Task<bool> TryStopAsync(string name, ServiceSpec spec, TimeSpan? timeout, bool force, IProgress<string>? progress, CancellationToken cancellationToken) =>
        Task.FromResult(false);
}
