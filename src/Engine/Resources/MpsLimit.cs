using System.Globalization;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Resources;

/// <summary>
/// The hard GPU memory limit NVIDIA's Multi-Process Service offers: when an MPS control daemon runs, a client
/// started with <c>CUDA_MPS_PINNED_DEVICE_MEM_LIMIT</c> cannot allocate past it. Without MPS, quotas are enforced
/// by sampling instead (<see cref="ResourceManager.EvaluateLimits"/>).
/// </summary>
public static class MpsLimit
{
    /// <summary>The environment variable that carries the limit to the CUDA client.</summary>
    public const string Variable = "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT";

    /// <summary>
    /// True when an MPS control daemon is listening: its pipe directory (<c>$CUDA_MPS_PIPE_DIRECTORY</c>, default
    /// <c>/tmp/nvidia-mps</c>) holds the <c>control</c> pipe.
    /// </summary>
    public static bool IsDaemonActive(Func<string, string?>? getEnvironment = null)
    {
        var directory = (getEnvironment ?? Environment.GetEnvironmentVariable)("CUDA_MPS_PIPE_DIRECTORY") is { Length: > 0 } d ? d : "/tmp/nvidia-mps";
        return Path.Exists(Path.Combine(directory, "control"));
    }

    /// <summary>
    /// The value of <see cref="Variable"/> for a service with <paramref name="quotas"/> and the devices it was given,
    /// or null when it has no quota. Device ordinals are those the service sees after <c>CUDA_VISIBLE_DEVICES</c>
    /// renumbering; a quota without a device applies to each device the service sees.
    /// </summary>
    public static string? For(IReadOnlyList<GpuQuota> quotas, IReadOnlyList<int> visibleDevices)
    {
        var limits = new SortedDictionary<int, double>();
        for (var ordinal = 0; ordinal < visibleDevices.Count; ordinal++)
        {
            var device = visibleDevices[ordinal];
            var quota = quotas.FirstOrDefault(q => q.Device == device) ?? quotas.FirstOrDefault(q => q.Device is null);
            if (quota is not null)
            {
                limits[ordinal] = quota.MemoryMb;
            }
        }

        return limits.Count == 0
            ? null
            : string.Join(',', limits.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Key}={Math.Floor(l.Value):0}M")));
    }
}
