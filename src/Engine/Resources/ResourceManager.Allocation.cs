using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Resources;

/// <summary>The rules of GPU allocation: devices must exist, and an exclusive claim conflicts with any other live holder.</summary>
public sealed partial class ResourceManager
{
    private static void CheckDevicesExist(IEnumerable<int> devices, GpuSnapshot snapshot)
    {
        var unknown = devices.Where(d => snapshot.Devices.All(x => x.Index != d)).ToList();
        if (unknown.Count > 0)
        {
            var have = snapshot.Devices.Count == 0
                ? "this machine has no GPU"
                : $"this machine has {string.Join(", ", snapshot.Devices.Select(x => $"GPU {x.Index} ({x.Name}, {x.MemoryTotalMb:0} MiB)"))}";
            throw new ResourceRequestException($"There is no {string.Join(", ", unknown.Select(d => DeviceName(d)))}: {have}.");
        }
    }

    /// <summary>
    /// True while <paramref name="allocation"/>'s service still holds its GPUs: its supervisor is alive and it is not
    /// stopped, completed or fatal; a service with no status yet holds them for <see cref="StartGrace"/> (a start in progress).
    /// </summary>
    private bool Holds(GpuAllocation allocation)
    {
        if (!StateDirectory.IsValidServiceName(allocation.Service))
        {
            return false;
        }

        var status = _store.Read<ProcessStatus>(_state.ServiceStatusPath(allocation.Service)).Document;
        if (status is null)
        {
            return _time.GetUtcNow() - allocation.AllocatedAt < StartGrace;
        }

        if (status.Status is ServiceState.Stopped or ServiceState.Completed or ServiceState.Fatal)
        {
            return false;
        }

        // A supervisor on another host (a cluster job) cannot be checked from here: trust its status.
        return (status.Host is { } host && host != Environment.MachineName)
               || (status.SupervisorPid > 0 && new Platform.ProcessIdentity(status.SupervisorPid, status.SupervisorStartTicks).IsAlive());
    }

    /// <summary>
    /// The GPUs of this machine that no live service holds now (in index order): where a sweep places its next trial.
    /// A device given to a service that still runs, exclusively or not, is not free.
    /// </summary>
    public IReadOnlyList<int> FreeDevices()
    {
        var snapshot = Probe.Probe();
        if (snapshot.Devices.Count == 0)
        {
            return [];
        }

        var held = ReadQuotas().GpuAllocations.Where(Holds).SelectMany(a => a.Devices).ToHashSet();
        return snapshot.Devices.Select(d => d.Index).Where(d => !held.Contains(d)).Order().ToList();
    }

    /// <summary>
    /// The CPU cores this process may use that no live service is pinned to by its limits (<c>Set-ResourceLimit -CpuAffinity</c>,
    /// or a sweep's trial placed on cores), in order: where a sweep places its next CPU trial.
    /// </summary>
    public IReadOnlyList<int> FreeCores()
    {
        var all = Platform.ProcessLimits.GetAffinity(Environment.ProcessId) ?? Enumerable.Range(0, Environment.ProcessorCount).ToList();
        var held = ReadQuotas().Limits
            .Where(l => l.CpuAffinity is { Count: > 0 } && Holds(new GpuAllocation(l.Service, [], false, DateTimeOffset.MinValue)))
            .SelectMany(l => l.CpuAffinity!).ToHashSet();
        return all.Where(c => !held.Contains(c)).Order().ToList();
    }

    /// <summary>How long an allocation counts as held before its service writes a status (the start's own timeout is shorter).</summary>
    public static TimeSpan StartGrace { get; } = TimeSpan.FromMinutes(2);

    private static void CheckAllocationConflicts(IEnumerable<GpuAllocation> held, GpuAllocation wanted)
    {
        foreach (var other in held)
        {
            var shared = other.Devices.Intersect(wanted.Devices).ToList();
            if (shared.Count > 0 && (other.Exclusive || wanted.Exclusive))
            {
                var device = DeviceName(shared[0]);
                throw new ResourceConflictException(
                    device,
                    other.Exclusive
                        ? $"{device} is held exclusively by service '{other.Service}'. Stop that service, or give '{wanted.Service}' another device."
                        : $"{device} is already given to service '{other.Service}', so '{wanted.Service}' cannot have it exclusively. Stop that service, or drop -Exclusive.");
            }
        }
    }

    private static bool SameDevice(int? a, int? b) => a is null || b is null || a == b;

    private static string DeviceName(int? device) => device is { } d ? $"GPU {d}" : "every GPU";
}
