namespace StabilityTools.Engine.Resources;

/// <summary>Chooses how to see GPUs on this machine: NVML, else nvidia-smi, else none.</summary>
public static class GpuProbe
{
    /// <summary>Overrides the choice: <c>nvml</c>, <c>nvidia-smi</c> or <c>none</c>.</summary>
    public const string OverrideVariable = "STABILITY_GPU_PROBE";

    /// <summary>
    /// The best probe available: NVML when the driver's library loads and initializes, else <c>nvidia-smi</c> from
    /// PATH, else <see cref="NoGpuProbe"/>. <c>$STABILITY_GPU_PROBE</c> forces one (a forced probe that is unavailable
    /// falls through to none rather than failing).
    /// </summary>
    public static IGpuProbe Detect(Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        var forced = getEnvironment(OverrideVariable)?.Trim().ToLowerInvariant();
        if (forced is null or "" or "nvml")
        {
            if (NvmlProbe.TryCreate() is { } nvml)
            {
                return nvml;
            }
        }

        if (forced is null or "" or "nvidia-smi" && NvidiaSmiProbe.FindOnPath() is { } smi)
        {
            return new NvidiaSmiProbe(smi);
        }

        return NoGpuProbe.Instance;
    }
}
