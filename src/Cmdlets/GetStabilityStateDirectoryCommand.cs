using System.Management.Automation;
using StabilityTools.Engine.State;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Shows where the state directory is and what a reader finds in each of its documents.</para>
/// <para type="description">Reads every status document the way the dashboard and the cmdlets do (no locks, a size cap)
/// and reports each as Ok, Stale, Missing, Corrupt, Oversized or Unreadable, with its sequence number, writer and age,
/// and whether the directory may be used at all (Trust: every other cmdlet refuses one that others can write).
/// Changes nothing.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "StabilityStateDirectory")]
[OutputType(typeof(StateDirectoryReport))]
public sealed class GetStabilityStateDirectoryCommand : StabilityCmdlet
{
    /// <summary>Documents older than this many seconds are reported Stale. Default: no staleness check.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int StaleAfterSeconds { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // The verdict on an untrusted directory is what this cmdlet is for: it reports it instead of refusing.
        var state = LocateStateDirectory(verify: false);
        WriteVerbose($"Inspecting the state directory '{state.Root}'.");
        TimeSpan? staleAfter = StaleAfterSeconds > 0 ? TimeSpan.FromSeconds(StaleAfterSeconds) : null;
        WriteObject(new StateDirectoryInspector().Inspect(state, staleAfter));
    }
}
