using System.Management.Automation;
using StabilityTools.Engine.Alerts;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Removes an alert rule from the state directory.</para>
/// <para type="description">Takes the named rule out of alerts.json; supervisors stop sending its notices from the next
/// event on. Accepts rules piped from Get-StabilityAlert. A name that no rule has is an error (AlertRuleNotFound).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "StabilityAlert", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveStabilityAlertCommand : StabilityCmdlet
{
    /// <summary>The rule's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"alert rule '{Name}'", "Remove"))
        {
            return;
        }

        try
        {
            var state = LocateStateDirectory();
            if (!state.Exists || !new AlertBook(state).Remove(Name))
            {
                WriteError(AlertErrors.NotFound(Name, state));
            }
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
