using System.Management.Automation;
using StabilityTools.Engine.Resources;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Shows the machine's GPUs and memory and each service's use against its quotas and limits.</para>
/// <para type="description">Discovers GPUs through NVML, else nvidia-smi, else reports none; joins each service's sampled
/// CPU, memory and GPU memory (from its supervisor) with its quotas, limits and GPU allocation.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ResourceUsage")]
[OutputType(typeof(ResourceUsageReport))]
public sealed class GetResourceUsageCommand : StabilityCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // Read-only: a missing state directory just means no services yet; the machine's resources still show.
        var manager = new ResourceManager(LocateStateDirectory());
        WriteVerbose($"GPU probe: {manager.Probe.Source}.");
        WriteObject(manager.CheckMemoryUsage());
    }
}
