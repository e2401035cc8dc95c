using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Sets the memory limit, CPU affinity and priority of a service.</para>
/// <para type="description">Records the limits in resources/quotas.json; the service's supervisor applies them on its next
/// sample (within a second), without a restart: CPU affinity and priority to every process of the service, the memory
/// limit on the resident memory of its process tree (acting as -MemoryAction says). A parameter left out keeps its
/// earlier value. A core the machine does not have, a priority outside -20..19 or a memory limit above physical memory
/// is refused.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "ResourceLimit", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceLimits))]
public sealed class SetResourceLimitCommand : StabilityCmdlet
{
    /// <summary>The service.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The most resident memory the service's process tree may use, MiB.</summary>
    [Parameter]
    [ValidateRange(1, 1024 * 1024 * 1024)]
    public double MemoryLimitMB { get; set; }

    /// <summary>What to do over the memory limit: Warn (default), Restart or Stop (any case; PowerShell completes and checks the names).</summary>
    [Parameter]
    public QuotaAction? MemoryAction { get; set; }

    /// <summary>The cores the service may run on (an empty array: all).</summary>
    [Parameter]
    [AllowEmptyCollection]
    public int[]? CpuAffinity { get; set; }

    /// <summary>The nice value, -20 (highest) to 19 (lowest).</summary>
    [Parameter]
    public int? Priority { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        double? memory = MyInvocation.BoundParameters.ContainsKey(nameof(MemoryLimitMB)) ? MemoryLimitMB : null;
        var parts = new List<string>();
        if (memory is { } m)
        {
            parts.Add($"memory limit {m} MiB");
        }

        if (CpuAffinity is not null)
        {
            parts.Add(CpuAffinity.Length == 0 ? "all cores" : $"cores {string.Join(",", CpuAffinity)}");
        }

        if (Priority is { } p)
        {
            parts.Add($"priority {p}");
        }

        if (!ShouldProcess($"limits of service '{Name}': {(parts.Count == 0 ? "unchanged" : string.Join(", ", parts))}", "Set"))
        {
            return;
        }

        try
        {
            var state = OpenStateDirectory();
            WriteObject(new ResourceManager(state, NoGpuProbe.Instance).SetResourceLimit(Name, memory, MemoryAction, CpuAffinity, Priority));
            WriteVerbose($"Recorded in {state.QuotasPath}; the supervisor of '{Name}' applies the limits on its next sample, within a second.");
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
