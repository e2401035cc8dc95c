namespace StabilityTools.Engine.Resources;

/// <summary>The probe of a machine without GPUs: always an empty snapshot.</summary>
public sealed class NoGpuProbe : IGpuProbe
{
    /// <summary>The one instance.</summary>
    public static NoGpuProbe Instance { get; } = new();

    /// <inheritdoc />
    public string Source => "none";

    /// <inheritdoc />
    public GpuSnapshot Probe() => GpuSnapshot.None;
}
