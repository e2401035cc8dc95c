namespace StabilityTools.Engine.Resources;

/// <summary>One GPU as the driver reports it.</summary>
/// <param name="Index">The device index (what <c>CUDA_VISIBLE_DEVICES</c> names).</param>
/// <param name="Uuid">The device UUID, e.g. <c>GPU-5f2c…</c>.</param>
/// <param name="Name">The product name.</param>
/// <param name="MemoryTotalMb">Device memory, MiB.</param>
/// <param name="MemoryUsedMb">Device memory in use, MiB.</param>
/// <param name="UtilizationPercent">GPU utilization, percent, when the device reports it.</param>
public sealed record GpuDevice(int Index, string Uuid, string Name, double MemoryTotalMb, double MemoryUsedMb, double? UtilizationPercent);
