namespace StabilityTools.Engine.Models;

/// <summary>
/// One GPU as the ResourceManager last sampled it (NVML or <c>nvidia-smi</c>). Readers such as the
/// dashboard show it and export it under DCGM-like metric names; every figure is optional because not
/// every probe reports it.
/// </summary>
/// <param name="Index">The device index (as in <c>CUDA_VISIBLE_DEVICES</c>).</param>
/// <param name="Name">The product name, e.g. <c>NVIDIA H200</c>.</param>
/// <param name="Uuid">The device UUID, when known.</param>
/// <param name="MemoryTotalMb">Total frame-buffer memory, MiB.</param>
/// <param name="MemoryUsedMb">Used frame-buffer memory, MiB.</param>
/// <param name="UtilizationPercent">GPU utilization, percent.</param>
/// <param name="TemperatureC">Temperature, degrees Celsius.</param>
/// <param name="PowerWatts">Power draw, watts.</param>
/// <param name="SampledAt">When the figures were sampled, UTC.</param>
public sealed record GpuDevice(
    int Index,
    string? Name = null,
    string? Uuid = null,
    double? MemoryTotalMb = null,
    double? MemoryUsedMb = null,
    double? UtilizationPercent = null,
    double? TemperatureC = null,
    double? PowerWatts = null,
    DateTimeOffset? SampledAt = null);
