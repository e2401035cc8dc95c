using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the GPU memory quotas.</para>
/// <para type="description">Reads resources/quotas.json. Without -Name, every quota; with it, the quotas of the services
/// whose names match (wildcards allowed).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "GpuQuota")]
[OutputType(typeof(GpuQuota))]
public sealed class GetGpuQuotaCommand : StabilityCmdlet
{
    /// <summary>Service names; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        if (!state.Exists)
        {
            return;
        }

        var patterns = (Name ?? ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var quotas = new ResourceManager(state, NoGpuProbe.Instance).GetGpuQuotas();
        foreach (var quota in quotas.Where(q => patterns.Any(p => p.IsMatch(q.Service))))
        {
            WriteObject(quota);
        }
    }
}
