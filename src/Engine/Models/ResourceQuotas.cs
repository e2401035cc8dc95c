namespace StabilityTools.Engine.Models;

/// <summary><c>resources/quotas.json</c>: GPU quotas and allocations, and CPU/memory limits, changed only by locked read-modify-write.</summary>
public sealed record ResourceQuotas : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "resource_quotas";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>GPU memory quotas, one per service and device.</summary>
    public IReadOnlyList<GpuQuota> GpuQuotas { get; init; } = [];

    /// <summary>GPU allocations, one per service.</summary>
    public IReadOnlyList<GpuAllocation> GpuAllocations { get; init; } = [];

    /// <summary>CPU and memory limits, one per service.</summary>
    public IReadOnlyList<ServiceLimits> Limits { get; init; } = [];

    /// <summary>The GPUs discovered on this host at the last probe; empty when none (or no probe ran).</summary>
    public IReadOnlyList<GpuDevice> Devices { get; init; } = [];
}
