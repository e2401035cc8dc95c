using StabilityTools.Engine.Models;
namespace StabilityTools.Engine.Resources;

/// <summary>What a GPU probe saw at one moment.</summary>
/// <param name="Source"><c>nvml</c>, <c>nvidia-smi</c> or <c>none</c>.</param>
/// <param name="Devices">The devices, by index.</param>
/// <param name="Processes">The compute processes and their memory.</param>
/// <param name="Error">Why the probe saw nothing, when it failed (a driver error, a timeout); null when fine or when there is simply no GPU.</param>
public sealed record GpuSnapshot(string Source, IReadOnlyList<GpuDevice> Devices, IReadOnlyList<GpuProcessUsage> Processes, string? Error = null)
{
    /// <summary>No GPU on this machine.</summary>
    public static GpuSnapshot None { get; } = new("none", [], []);

    /// <summary>GPU memory held by the given processes, MiB (processes the driver lists without memory count as 0).</summary>
    public double MemoryUsedBy(IEnumerable<int> pids)
    {
        var set = pids as ISet<int> ?? pids.ToHashSet();
        return Processes.Where(p => set.Contains(p.Pid)).Sum(p => p.UsedMemoryMb ?? 0);
    }
}
