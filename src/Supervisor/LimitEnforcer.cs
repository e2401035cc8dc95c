using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Applies a service's resource limits and checks its quotas with each tick of its supervisor (the seed's
/// enforce_resource_limits; every second while the service has any, see <see cref="HasLimits"/>):
/// CPU affinity and priority go to every process of the tree (new ones included), and quota or memory-limit
/// violations come back for the supervisor's loop to act on. Limits are re-read from <c>resources/quotas.json</c>
/// on every sample, and a change of that file wakes the supervisor, so it applies to a live service at once, without a restart.
/// </summary>
internal sealed class LimitEnforcer
{
    // nvidia-smi costs a process start; NVML is a library call. Sample GPUs accordingly.
    private static readonly TimeSpan SmiInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NvmlInterval = TimeSpan.FromSeconds(1);

    // One event per kind of violation per window, so a service sitting over a warn-only limit does not flood the log.
    private static readonly TimeSpan RepeatWindow = TimeSpan.FromSeconds(60);

    private readonly string _service;
    private readonly StateDirectory _state;
    private readonly StatusStore _store;
    private readonly TimeProvider _time;
    private readonly IGpuProbe _gpu;
    private readonly Dictionary<int, string> _applied = [];
    private readonly Dictionary<string, DateTimeOffset> _lastReported = [];
    private GpuSnapshot _snapshot = GpuSnapshot.None;
    private DateTimeOffset _snapshotAt = DateTimeOffset.MinValue;

    private readonly MemoryCgroup? _memoryGroup;
    private long? _hardLimit;

    public LimitEnforcer(string service, StateDirectory state, StatusStore store, TimeProvider time, IGpuProbe gpu, MemoryCgroup? memoryGroup = null)
    {
        _memoryGroup = memoryGroup;
        _service = service;
        _state = state;
        _store = store;
        _time = time;
        _gpu = gpu;
    }

    /// <summary>True when the last check found a limit or GPU quota for this service: its supervisor then samples every second.</summary>
    public bool HasLimits { get; private set; }

    /// <summary>GPU memory the tree held at the last GPU sample, MiB; null without a GPU probe.</summary>
    public double? GpuMemoryMb { get; private set; }

    /// <summary>Applies limits to the tree and returns the violations to act on now (already rate-limited).</summary>
    public IReadOnlyList<LimitViolation> Check(IReadOnlyCollection<int> tree, double residentMb)
    {
        var quotas = _store.Read<ResourceQuotas>(_state.QuotasPath).Document ?? new ResourceQuotas();
        var limits = quotas.Limits.FirstOrDefault(l => l.Service == _service);
        HasLimits = limits is not null || quotas.GpuQuotas.Any(q => q.Service == _service);
        Apply(tree, limits);
        ApplyHardMemoryLimit(limits);

        var now = _time.GetUtcNow();
        if (_gpu is not NoGpuProbe && now - _snapshotAt >= (_gpu is NvmlProbe ? NvmlInterval : SmiInterval))
        {
            _snapshot = _gpu.Probe();
            _snapshotAt = now;
        }

        GpuMemoryMb = _gpu is NoGpuProbe ? null : _snapshot.MemoryUsedBy(tree);
        var due = new List<LimitViolation>();
        foreach (var violation in ResourceManager.EvaluateLimits(_service, residentMb, tree, _snapshot, quotas))
        {
            if (violation is { Kind: "memory", Action: QuotaAction.Restart } && _hardLimit is not null)
            {
                // The kernel holds this limit: its OOM kill ends the run and the exit reports it (limit_exceeded,
                // enforced_by cgroup). A sample taken at the limit would race it with a SIGTERM of its own.
                continue;
            }

            var key = violation.Kind + violation.Device;
            if (violation.Action != QuotaAction.Warn || !_lastReported.TryGetValue(key, out var last) || now - last >= RepeatWindow)
            {
                _lastReported[key] = now;
                due.Add(violation);
            }
        }

        return due;
    }

    /// <summary>Forgets what was applied (a new run starts with fresh processes).</summary>
    public void Reset()
    {
        _applied.Clear();
        _lastReported.Clear();
    }

    /// <summary>
    /// A memory limit whose action is restart is also handed to the kernel where a memory cgroup is writable: it then
    /// holds between samples too, and a breach ends in an OOM kill that the restart policy answers. Warn and stop stay
    /// with sampling, since a kernel kill can neither just warn nor leave the service stopped.
    /// </summary>
    public void ApplyHardMemoryLimit() =>
        ApplyHardMemoryLimit(_store.Read<ResourceQuotas>(_state.QuotasPath).Document?.Limits.FirstOrDefault(l => l.Service == _service));

    private void ApplyHardMemoryLimit(ServiceLimits? limits)
    {
        if (_memoryGroup is null)
        {
            return;
        }

        long? wanted = limits is { MemoryAction: QuotaAction.Restart, MemoryLimitMb: { } mb } ? (long)(mb * 1048576) : null;
        if (wanted != _hardLimit && _memoryGroup.SetLimit(wanted))
        {
            _hardLimit = wanted;
        }
    }

    private void Apply(IReadOnlyCollection<int> tree, ServiceLimits? limits)
    {
        foreach (var pid in _applied.Keys.Where(p => !tree.Contains(p)).ToList())
        {
            _applied.Remove(pid);
        }

        var cores = limits?.CpuAffinity ?? [];
        var key = $"{string.Join(',', cores)}|{limits?.Priority}";
        foreach (var pid in tree)
        {
            if (_applied.TryGetValue(pid, out var done) && done == key)
            {
                continue;
            }

            // Applied to each process once per change of limits; an empty affinity gives a process every core back
            // (it may have been limited before).
            if (cores.Count > 0 || done is not null)
            {
                ProcessLimits.TrySetAffinity(pid, cores);
            }

            if (limits?.Priority is { } nice)
            {
                ProcessLimits.TrySetNice(pid, nice);
            }

            _applied[pid] = key;
        }
    }
}
