using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Removes the GPU memory quota of a service.</para>
/// <para type="description">Removes the service's quotas (on one device with -Device). Accepts quotas from Get-GpuQuota
/// through the pipeline.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "GpuQuota", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveGpuQuotaCommand : StabilityCmdlet
{
    /// <summary>The service.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Service")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Only the quota on this device.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? Device { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var target = $"GPU quota of service '{Name}'{(Device is { } d ? $" on GPU {d}" : "")}";
        if (!ShouldProcess(target, "Remove"))
        {
            return;
        }

        try
        {
            var removed = new ResourceManager(OpenStateDirectory(), NoGpuProbe.Instance).RemoveGpuQuota(Name, Device);
            WriteVerbose($"Removed {removed} quota(s).");
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
