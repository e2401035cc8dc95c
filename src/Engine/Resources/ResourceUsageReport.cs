using StabilityTools.Engine.Models;
namespace StabilityTools.Engine.Resources;

/// <summary>The machine's resources and each service's use of them (<c>check_memory_usage</c> of the seed).</summary>
/// <param name="GpuSource">How GPUs were seen: <c>nvml</c>, <c>nvidia-smi</c> or <c>none</c>.</param>
/// <param name="Devices">The GPUs.</param>
/// <param name="SystemMemoryTotalMb">Physical memory, MiB.</param>
/// <param name="SystemMemoryAvailableMb">Memory available for new work, MiB.</param>
/// <param name="Cores">Logical processors.</param>
/// <param name="Services">Per-service use against quotas and limits.</param>
/// <param name="GpuError">Why the GPU probe saw nothing, when it failed.</param>
public sealed record ResourceUsageReport(
    string GpuSource,
    IReadOnlyList<GpuDevice> Devices,
    double SystemMemoryTotalMb,
    double SystemMemoryAvailableMb,
    int Cores,
    IReadOnlyList<ServiceResourceUsage> Services,
    string? GpuError);
