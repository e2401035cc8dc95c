namespace StabilityTools.Engine.Models;

/// <summary>A GPU memory quota of one service.</summary>
/// <param name="Service">The service.</param>
/// <param name="MemoryMb">The most GPU memory the service's processes may use, MB.</param>
/// <param name="Device">The device index, or null for whichever devices the service is given.</param>
/// <param name="Action">What the supervisor does when the quota is exceeded (<c>warn</c>, <c>restart</c> or <c>stop</c>).</param>
/// <param name="Exclusive">True when no other service may be given the device.</param>
public sealed record GpuQuota(string Service, double MemoryMb, int? Device, QuotaAction Action, bool Exclusive);
