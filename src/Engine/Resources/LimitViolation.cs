using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Resources;

/// <summary>A quota or limit a service is over, and what to do about it.</summary>
/// <param name="Kind"><c>gpu_memory</c> or <c>memory</c>.</param>
/// <param name="UsedMb">What the service uses, MiB.</param>
/// <param name="LimitMb">Its quota or limit, MiB.</param>
/// <param name="Action">What to do: warn, restart or stop.</param>
/// <param name="Device">The GPU, for GPU quotas bound to one device.</param>
public sealed record LimitViolation(string Kind, double UsedMb, double LimitMb, QuotaAction Action, int? Device = null)
{
    /// <summary>A sentence for the event log.</summary>
    public string Describe() => Kind == "gpu_memory"
        ? $"GPU memory {UsedMb:0} MiB{(Device is { } d ? $" on GPU {d}" : "")} is over the quota of {LimitMb:0} MiB; action: {StatusJson.WireName(Action)}."
        : $"Resident memory {UsedMb:0} MiB is over the limit of {LimitMb:0} MiB; action: {StatusJson.WireName(Action)}.";
}
