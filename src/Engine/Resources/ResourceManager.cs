using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Resources;

/// <summary>
/// The seed's ResourceManager: gives each service its slice of GPU, CPU and memory, records quotas and limits in
/// <c>resources/quotas.json</c> (locked read-modify-write, so concurrent callers never lose a change), refuses
/// conflicts, and decides when a service is over its quota. Each service's supervisor applies the limits and acts
/// on violations; this class decides, it does not signal processes.
/// </summary>
public sealed partial class ResourceManager
{
    private readonly StateDirectory _state;
    private readonly StatusStore _store;
    private readonly TimeProvider _time;

    /// <summary>Creates a manager over <paramref name="state"/>.</summary>
    /// <param name="state">The state directory (must exist: use <see cref="StateDirectory.Open"/>).</param>
    /// <param name="probe">How to see GPUs; default <see cref="GpuProbe.Detect"/>.</param>
    /// <param name="store">The status store; default options when null.</param>
    /// <param name="time">The clock for allocation times; default system.</param>
    public ResourceManager(StateDirectory state, IGpuProbe? probe = null, StatusStore? store = null, TimeProvider? time = null)
    {
        _state = state;
        Probe = probe ?? GpuProbe.Detect();
        _store = store ?? new StatusStore();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The GPU probe in use.</summary>
    public IGpuProbe Probe { get; }

    /// <summary>The devices a service may see, as a <c>CUDA_VISIBLE_DEVICES</c> value (empty: none).</summary>
    public static string CudaVisibleDevices(GpuAllocation allocation) => string.Join(',', allocation.Devices);

    /// <summary>
    /// Allocates GPUs to <paramref name="service"/> and records it: the devices asked for, else the device of its
    /// quota, else all devices. A dashboard always gets none. With no GPU the allocation is empty (CPU).
    /// </summary>
    /// <exception cref="ResourceRequestException">A device that does not exist was asked for.</exception>
    /// <exception cref="ResourceConflictException">A device is held exclusively by another service, or this exclusive request meets a device already given to another.</exception>
    /// <exception cref="CorruptDocumentException">resources/quotas.json exists but cannot be read; nothing is allocated and the file is left as it is.</exception>
    public GpuAllocation AllocateGpuResources(string service, bool isDashboard, IReadOnlyList<int>? devices = null, bool exclusive = false)
    {
        StateDirectory.ValidateServiceName(service);
        var snapshot = Probe.Probe();
        var quotas = ReadQuotas();
        IReadOnlyList<int> wanted;
        if (isDashboard || snapshot.Devices.Count == 0)
        {
            // The dashboard never touches a GPU; without GPUs everything runs on CPU.
            wanted = [];
        }
        else if (devices is { Count: > 0 })
        {
            CheckDevicesExist(devices, snapshot);
            wanted = devices.Distinct().Order().ToList();
        }
        else if (quotas.GpuQuotas.Where(q => q.Service == service && q.Device is not null).Select(q => q.Device!.Value).ToList() is { Count: > 0 } quotaDevices)
        {
            wanted = quotaDevices.Distinct().Order().ToList();
        }
        else
        {
            wanted = snapshot.Devices.Select(d => d.Index).ToList();
        }

        exclusive |= quotas.GpuQuotas.Any(q => q.Service == service && q.Exclusive);
        var allocation = new GpuAllocation(service, wanted, exclusive && wanted.Count > 0, _time.GetUtcNow());
        if (snapshot is { Error: null, Devices.Count: 0 } && quotas.Devices is null or { Count: 0 } && quotas.GpuAllocations.All(a => a.Service != service)
            && _store.Read<ResourceQuotas>(_state.QuotasPath).State is ReadState.Ok or ReadState.Stale or ReadState.Missing)
        {
            // No GPU here and none recorded: there is nothing to give, record or conflict with. Skipping the locked
            // rewrite (which judges every allocation's holder) keeps fifty concurrent starts from queueing on quotas.json.
            // A quotas.json that cannot be read still goes through Update, which refuses it (nothing is started).
            return allocation;
        }

        Update(
            current =>
            {
                // Allocations of services that are no longer running (stopped, completed, fatal, or a dead supervisor)
                // are dropped here, so an exclusive claim never outlives its holder.
                var held = current.GpuAllocations.Where(a => a.Service != service && Holds(a)).ToList();
                CheckAllocationConflicts(held, allocation);
                return current with { GpuAllocations = [.. held, allocation] };
            },
            snapshot);
        return allocation;
    }

    /// <summary>
    /// Releases whatever GPUs <paramref name="service"/> holds. Releasing nothing is fine; so is a quotas.json that
    /// cannot be read, which holds no allocation this can see and is left as it is (a stop must never fail on it).
    /// </summary>
    public void ReleaseGpuResources(string service)
    {
        StateDirectory.ValidateServiceName(service);
        if (ReadQuotas().GpuAllocations.All(a => a.Service != service))
        {
            return;
        }

        Update(current => current with { GpuAllocations = current.GpuAllocations.Where(a => a.Service != service).ToList() });
    }

    /// <summary>Sets (or replaces) the GPU memory quota of <paramref name="service"/> on <paramref name="device"/> (null: whatever devices it gets).</summary>
    /// <exception cref="ResourceRequestException">The quota can never be met: not positive, above the device's memory, an unknown device, or the service is a dashboard.</exception>
    /// <exception cref="ResourceConflictException">An exclusive quota meets another service's quota or allocation on the same device.</exception>
    /// <exception cref="CorruptDocumentException">resources/quotas.json exists but cannot be read; it is left as it is.</exception>
    public GpuQuota SetGpuQuota(string service, double memoryMb, int? device = null, QuotaAction action = QuotaAction.Warn, bool exclusive = false)
    {
        StateDirectory.ValidateServiceName(service);
        if (!(memoryMb > 0))
        {
            throw new ResourceRequestException($"A GPU memory quota must be more than 0 MiB (was {memoryMb}).");
        }

        if (ReadSpecKind(service) == "dashboard")
        {
            throw new ResourceRequestException($"'{service}' is a dashboard, and a dashboard never gets a GPU: set the quota on the training service instead.");
        }

        var quota = new GpuQuota(service, memoryMb, device, Validate(action), exclusive);
        var snapshot = Probe.Probe();
        if (snapshot.Devices.Count > 0)
        {
            if (device is { } d)
            {
                CheckDevicesExist([d], snapshot);
            }

            var candidates = device is { } only ? snapshot.Devices.Where(x => x.Index == only) : snapshot.Devices;
            var largest = candidates.Max(x => x.MemoryTotalMb ?? double.MaxValue);
            if (memoryMb > largest)
            {
                var which = device is { } i ? $"GPU {i}" : "the largest GPU";
                throw new ResourceRequestException($"A quota of {memoryMb:0} MiB is more than {which} has ({largest:0} MiB). Ask for at most {largest:0} MiB.");
            }
        }

        Update(current =>
        {
            var others = current.GpuQuotas.Where(q => !(q.Service == service && q.Device == device)).ToList();
            if (exclusive || others.Any(q => q.Exclusive))
            {
                var clash = others.FirstOrDefault(q => q.Service != service && (exclusive || q.Exclusive) && SameDevice(q.Device, device));
                if (clash is not null)
                {
                    throw new ResourceConflictException(
                        DeviceName(device ?? clash.Device),
                        $"{DeviceName(device ?? clash.Device)} is already claimed by service '{clash.Service}'{(clash.Exclusive ? " exclusively" : "")}; an exclusive quota cannot share it. Remove that quota, or choose another device with -Device.");
                }
            }

            return current with { GpuQuotas = [.. others, quota] };
        }, snapshot);
        return quota;
    }

    /// <summary>Removes the GPU quota(s) of <paramref name="service"/> (on <paramref name="device"/> only, when given). Returns how many were removed.</summary>
    /// <exception cref="CorruptDocumentException">resources/quotas.json exists but cannot be read; it is left as it is.</exception>
    public int RemoveGpuQuota(string service, int? device = null)
    {
        StateDirectory.ValidateServiceName(service);
        var removed = 0;
        Update(current =>
        {
            var kept = current.GpuQuotas.Where(q => !(q.Service == service && (device is null || q.Device == device))).ToList();
            removed = current.GpuQuotas.Count - kept.Count;
            return current with { GpuQuotas = kept };
        });
        return removed;
    }

    /// <summary>The GPU quotas, of one service when named.</summary>
    public IReadOnlyList<GpuQuota> GetGpuQuotas(string? service = null) =>
        ReadQuotas().GpuQuotas.Where(q => service is null || q.Service == service).ToList();

    /// <summary>
    /// Sets the CPU and memory limits of <paramref name="service"/>; a null argument keeps what was set before.
    /// The service's supervisor applies them on its next sample (within a second), without a restart.
    /// </summary>
    /// <exception cref="ResourceRequestException">A limit the machine cannot meet: memory not positive or above physical memory, a core that does not exist, a priority outside -20..19.</exception>
    /// <exception cref="CorruptDocumentException">resources/quotas.json exists but cannot be read; it is left as it is.</exception>
    public ServiceLimits SetResourceLimit(string service, double? memoryLimitMb = null, QuotaAction? memoryAction = null, IReadOnlyList<int>? cpuAffinity = null, int? priority = null)
    {
        StateDirectory.ValidateServiceName(service);
        var problems = new List<string>();
        if (memoryLimitMb is { } memory)
        {
            var (totalMb, _) = SystemMemory.Read();
            if (!(memory > 0) || memory > totalMb)
            {
                problems.Add($"a memory limit must be between 1 and {totalMb:0} MiB, the machine's memory (was {memory}).");
            }
        }

        if (cpuAffinity is { Count: > 0 })
        {
            var cores = Environment.ProcessorCount;
            var outside = cpuAffinity.Where(c => c < 0 || c >= cores).Distinct().ToList();
            if (outside.Count > 0)
            {
                problems.Add($"core(s) {string.Join(", ", outside)} do not exist: this machine has cores 0 to {cores - 1}.");
            }
        }

        if (priority is { } p && (p < -20 || p > 19))
        {
            problems.Add($"a priority (nice value) must be between -20 (highest) and 19 (lowest) (was {p}).");
        }

        var action = memoryAction is { } given ? Validate(given) : (QuotaAction?)null;
        if (problems.Count > 0)
        {
            throw new ResourceRequestException($"Cannot set the limits of '{service}': {string.Join(" ", problems)}");
        }

        ServiceLimits? result = null;
        Update(current =>
        {
            var old = current.Limits.FirstOrDefault(l => l.Service == service);
            result = new ServiceLimits(
                service,
                memoryLimitMb ?? old?.MemoryLimitMb,
                action ?? old?.MemoryAction ?? QuotaAction.Warn,
                cpuAffinity is null ? old?.CpuAffinity : cpuAffinity.Count == 0 ? null : cpuAffinity.Distinct().Order().ToList(),
                priority ?? old?.Priority);
            return current with { Limits = [.. current.Limits.Where(l => l.Service != service), result] };
        });
        return result!;
    }

    /// <summary>The limits of <paramref name="service"/>, or null when none are set.</summary>
    public ServiceLimits? GetLimits(string service) => ReadQuotas().Limits.FirstOrDefault(l => l.Service == service);

    /// <summary>The machine's resources and every service's use of them against its quotas and limits.</summary>
    public ResourceUsageReport CheckMemoryUsage()
    {
        var snapshot = Probe.Probe();
        var quotas = ReadQuotas();
        var (totalMb, availableMb) = SystemMemory.Read();
        var services = _state.ListServices()
            .Union(quotas.GpuQuotas.Select(q => q.Service))
            .Union(quotas.Limits.Select(l => l.Service))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .Select(name =>
            {
                var status = _store.Read<ProcessStatus>(_state.ServiceStatusPath(name)).Document;
                var limits = quotas.Limits.FirstOrDefault(l => l.Service == name);
                var quota = quotas.GpuQuotas.Where(q => q.Service == name).Select(q => (double?)q.MemoryMb).Sum();
                var allocation = quotas.GpuAllocations.FirstOrDefault(a => a.Service == name);
                return new ServiceResourceUsage(
                    name,
                    status is null ? "unknown" : StatusJson.WireName(status.Status),
                    status?.MemoryUsage ?? 0,
                    limits?.MemoryLimitMb,
                    status?.CpuUsage ?? 0,
                    limits?.CpuAffinity,
                    limits?.Priority,
                    allocation?.Devices ?? [],
                    status?.GpuMemoryMb,
                    quota,
                    quota is null || snapshot.Devices.Count > 0);
            })
            .ToList();
        return new ResourceUsageReport(snapshot.Source, snapshot.Devices, totalMb, availableMb, Environment.ProcessorCount, services, snapshot.Error);
    }

    /// <summary>
    /// The seed's <c>enforce_resource_limits</c> decision for one sample of one service: every quota or limit it is
    /// over, with the action configured. Pure; the supervisor samples, calls this, and acts.
    /// </summary>
    /// <param name="service">The service.</param>
    /// <param name="residentMb">Resident memory of its process tree, MiB.</param>
    /// <param name="pids">Its process tree.</param>
    /// <param name="snapshot">The latest GPU snapshot.</param>
    /// <param name="quotas">The quotas document.</param>
    public static IReadOnlyList<LimitViolation> EvaluateLimits(string service, double residentMb, IReadOnlyCollection<int> pids, GpuSnapshot snapshot, ResourceQuotas quotas)
    {
        var violations = new List<LimitViolation>();
        if (quotas.Limits.FirstOrDefault(l => l.Service == service) is { MemoryLimitMb: { } limit } limits && residentMb > limit)
        {
            violations.Add(new LimitViolation("memory", residentMb, limit, limits.MemoryAction));
        }

        var set = pids.ToHashSet();
        foreach (var quota in quotas.GpuQuotas.Where(q => q.Service == service))
        {
            var used = snapshot.Processes
                .Where(p => set.Contains(p.Pid) && (quota.Device is null || p.DeviceIndex == quota.Device))
                .Sum(p => p.UsedMemoryMb ?? 0);
            if (used > quota.MemoryMb)
            {
                violations.Add(new LimitViolation("gpu_memory", used, quota.MemoryMb, quota.Action, quota.Device));
            }
        }

        return violations;
    }

    /// <exception cref="ResourceRequestException">A number cast to <see cref="QuotaAction"/> that names no action.</exception>
    private static QuotaAction Validate(QuotaAction action) => Enum.IsDefined(action)
        ? action
        : throw new ResourceRequestException($"'{action}' is not an action: use warn, restart or stop.");

    private ResourceQuotas ReadQuotas() => _store.Read<ResourceQuotas>(_state.QuotasPath).Document ?? new ResourceQuotas();

    /// <summary>Locked read-modify-write of <c>resources/quotas.json</c>; a file that exists but cannot be read is refused, never replaced.</summary>
    /// <exception cref="CorruptDocumentException">quotas.json is corrupt, oversized or unreadable; it is left byte for byte as it is.</exception>
    private void Update(Func<ResourceQuotas, ResourceQuotas> change, GpuSnapshot? snapshot = null)
    {
        try
        {
            _store.Update<ResourceQuotas>(_state.QuotasPath, current =>
            {
                var next = change(current ?? new ResourceQuotas());
                // Keep the device list readers (the dashboard) show as fresh as the probe just taken.
                return snapshot is { Error: null } ? next with { Devices = snapshot.Devices } : next;
            });
        }
        catch (CorruptDocumentException ex)
        {
            // The same refusal, saying what a replacement would have cost.
            throw new CorruptDocumentException(ex.Path!, ex.State, ex.Problem, QuotasContents, ex);
        }
    }

    /// <summary>What <c>resources/quotas.json</c> holds, for messages about losing it.</summary>
    internal const string QuotasContents = "every service's GPU quotas, GPU allocations and CPU and memory limits";

    /// <summary>Probes the GPUs now and records the devices in <c>resources/quotas.json</c> for readers such as the dashboard.</summary>
    /// <exception cref="CorruptDocumentException">resources/quotas.json exists but cannot be read; it is left as it is.</exception>
    public GpuSnapshot RecordDevices()
    {
        var snapshot = Probe.Probe();
        Update(current => current, snapshot);
        return snapshot;
    }

    private string? ReadSpecKind(string service)
    {
        try
        {
            using var spec = JsonDocument.Parse(File.ReadAllBytes(_state.ServiceSpecPath(service)));
            return spec.RootElement.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String ? kind.GetString() : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
