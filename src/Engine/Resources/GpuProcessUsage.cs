namespace StabilityTools.Engine.Resources;

/// <summary>GPU memory held by one process on one device.</summary>
/// <param name="Pid">The process.</param>
/// <param name="DeviceIndex">The device index, or -1 when the device could not be matched.</param>
/// <param name="GpuUuid">The device UUID.</param>
/// <param name="UsedMemoryMb">Memory held, MiB; null when the driver does not say (e.g. under some containers).</param>
public sealed record GpuProcessUsage(int Pid, int DeviceIndex, string GpuUuid, double? UsedMemoryMb);
