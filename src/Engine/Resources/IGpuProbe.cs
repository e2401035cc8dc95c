namespace StabilityTools.Engine.Resources;

/// <summary>Discovers GPUs and per-process GPU memory. Never throws: a failing probe reports an empty snapshot with an error.</summary>
public interface IGpuProbe
{
    /// <summary><c>nvml</c>, <c>nvidia-smi</c> or <c>none</c>.</summary>
    string Source { get; }

    /// <summary>Looks now.</summary>
    GpuSnapshot Probe();
}
