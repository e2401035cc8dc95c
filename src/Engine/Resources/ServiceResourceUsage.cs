namespace StabilityTools.Engine.Resources;

/// <summary>One service's use of resources against its quota and limits.</summary>
/// <param name="Service">The service.</param>
/// <param name="State">Its state as its supervisor reports it.</param>
/// <param name="MemoryMb">Resident memory of its process tree, MiB.</param>
/// <param name="MemoryLimitMb">Its memory limit, MiB, when one is set.</param>
/// <param name="CpuPercent">CPU use of its process tree, percent of one core.</param>
/// <param name="CpuAffinity">The cores it may use, when limited.</param>
/// <param name="Priority">Its nice value, when set.</param>
/// <param name="GpuDevices">The GPUs allocated to it (empty: none).</param>
/// <param name="GpuMemoryMb">GPU memory its processes hold, MiB; null when there is no GPU probe.</param>
/// <param name="GpuQuotaMb">Its GPU memory quota, MiB, when one is set.</param>
/// <param name="QuotaEnforceable">False when a quota is set but no GPU can be seen, so it cannot be enforced.</param>
public sealed record ServiceResourceUsage(
    string Service,
    string State,
    double MemoryMb,
    double? MemoryLimitMb,
    double CpuPercent,
    IReadOnlyList<int>? CpuAffinity,
    int? Priority,
    IReadOnlyList<int> GpuDevices,
    double? GpuMemoryMb,
    double? GpuQuotaMb,
    bool QuotaEnforceable);
