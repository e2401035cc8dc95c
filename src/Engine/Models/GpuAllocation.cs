namespace StabilityTools.Engine.Models;

/// <summary>Devices given to one service (through <c>CUDA_VISIBLE_DEVICES</c>).</summary>
/// <param name="Service">The service.</param>
/// <param name="Devices">The device indices.</param>
/// <param name="Exclusive">True when no other service may share them.</param>
/// <param name="AllocatedAt">When the allocation was made.</param>
public sealed record GpuAllocation(string Service, IReadOnlyList<int> Devices, bool Exclusive, DateTimeOffset AllocatedAt);
