using System.Management.Automation;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the alert rules of the state directory.</para>
/// <para type="description">Reads alerts.json. Without parameters, every rule; -Name picks rules by name (wildcards
/// allowed); -Service picks the rules that apply to a service (its own and those for every service).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "StabilityAlert")]
[OutputType(typeof(AlertRule))]
public sealed class GetStabilityAlertCommand : StabilityCmdlet
{
    /// <summary>Rule names; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Only the rules that apply to this service.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Service { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        if (!state.Exists)
        {
            return;
        }

        var patterns = (Name ?? ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        try
        {
            foreach (var rule in new AlertBook(state).Read().Where(r => patterns.Any(p => p.IsMatch(r.Name)) && (Service is null || r.Covers(Service))))
            {
                WriteObject(rule);
            }
        }
        catch (Engine.Errors.StabilityException ex)
        {
            ThrowStabilityError(ex, AlertBook.PathIn(state));
        }
    }
}
