namespace StabilityTools.Engine.Models;

/// <summary>CPU and memory limits of one service, applied by its supervisor (live: a change takes effect on the next sample).</summary>
/// <param name="Service">The service.</param>
/// <param name="MemoryLimitMb">The most resident memory the service's process tree may use, MiB; null for no limit.</param>
/// <param name="MemoryAction">What the supervisor does when the memory limit is exceeded (<c>warn</c>, <c>restart</c> or <c>stop</c>).</param>
/// <param name="CpuAffinity">The cores the service may run on; null or empty for all.</param>
/// <param name="Priority">The nice value, -20 (highest) to 19 (lowest); null to leave it.</param>
public sealed record ServiceLimits(string Service, double? MemoryLimitMb, QuotaAction MemoryAction, IReadOnlyList<int>? CpuAffinity, int? Priority);
