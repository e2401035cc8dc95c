using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Sets the GPU memory quota of a service.</para>
/// <para type="description">Records the quota in resources/quotas.json; the service's supervisor samples the GPU memory
/// of the service's processes every second and, over the quota, takes the action (warn, restart or stop) with an event.
/// A quota above the device's memory, an unknown device, or a dashboard service is refused; an exclusive quota on a device
/// another service claims is a resource conflict. Without a GPU the quota is kept but reported as not enforceable.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "GpuQuota", SupportsShouldProcess = true)]
[OutputType(typeof(GpuQuota))]
public sealed class SetGpuQuotaCommand : StabilityCmdlet
{
    /// <summary>The service the quota applies to.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The most GPU memory the service's processes may hold, MiB.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, 16 * 1024 * 1024)]
    public double MemoryMB { get; set; }

    /// <summary>The device index the quota applies to; default: whichever devices the service gets.</summary>
    [Parameter]
    [ValidateRange(0, 1023)]
    public int Device { get; set; } = -1;

    /// <summary>What the supervisor does over the quota: Warn (default), Restart or Stop (any case; PowerShell completes and checks the names).</summary>
    [Parameter]
    public QuotaAction Action { get; set; } = QuotaAction.Warn;

    /// <summary>No other service may be given or claim the device.</summary>
    [Parameter]
    public SwitchParameter Exclusive { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        int? device = Device >= 0 ? Device : null;
        var target = $"GPU quota of service '{Name}': {MemoryMB} MiB on {(device is { } d ? $"GPU {d}" : "its GPUs")}, action {Action}{(Exclusive ? ", exclusive" : "")}";
        if (!ShouldProcess(target, "Set"))
        {
            return;
        }

        try
        {
            var manager = new ResourceManager(OpenStateDirectory());
            WriteVerbose($"GPU probe: {manager.Probe.Source}.");
            WriteObject(manager.SetGpuQuota(Name, MemoryMB, device, Action, Exclusive));
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
