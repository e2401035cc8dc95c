using System.Management.Automation;
using StabilityTools.Engine.Alerts;

namespace StabilityTools.Cmdlets;

/// <summary>The error records the alert cmdlets share.</summary>
internal static class AlertErrors
{
    /// <summary>No rule has <paramref name="name"/> (id <c>AlertRuleNotFound</c>).</summary>
    public static ErrorRecord NotFound(string name, Engine.State.StateDirectory state) => new(
        new ItemNotFoundException($"There is no alert rule named '{name}' in '{AlertBook.PathIn(state)}': list the rules with Get-StabilityAlert, or add it with Set-StabilityAlert."),
        "AlertRuleNotFound", ErrorCategory.ObjectNotFound, name);
}
