using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Alerts;

/// <summary>What a notice says: the condition fired, it cleared, or it is a test of the rule's target.</summary>
public enum AlertNoticeKind
{
    /// <summary>The condition holds.</summary>
    Firing,

    /// <summary>The condition cleared (the service runs again).</summary>
    Resolved,

    /// <summary>A test of the target (<c>Test-StabilityAlert</c>).</summary>
    Test,
}

/// <summary>One notice to deliver through a rule's target.</summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Service">The service it concerns (<c>*</c> for a test of a rule for every service).</param>
/// <param name="Trigger">The trigger (for a test, the rule's first).</param>
/// <param name="Kind">Firing, resolved or test.</param>
/// <param name="Text">A sentence for people.</param>
/// <param name="Time">When it was decided.</param>
/// <param name="Suppressed">Notices of the same rule, service and trigger counted, not sent, since the last one sent.</param>
/// <param name="Event">The event that fired it, when one.</param>
public sealed record AlertNotice(string Rule, string Service, AlertTrigger Trigger, AlertNoticeKind Kind, string Text, DateTimeOffset Time, int Suppressed = 0, StabilityEvent? Event = null)
{
    /// <summary>The host that sends it.</summary>
    public string Host { get; init; } = Environment.MachineName;
}
