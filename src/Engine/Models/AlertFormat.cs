namespace StabilityTools.Engine.Models;

/// <summary>The body a webhook target receives (<see cref="AlertRule.Format"/>); written <c>json</c>, <c>slack</c>, <c>teams</c>.</summary>
public enum AlertFormat
{
    /// <summary>A generic JSON object: rule, service, trigger, status (firing, resolved, test), text and the event.</summary>
    Json,

    /// <summary>A Slack-compatible incoming-webhook payload: <c>{"text": ...}</c>.</summary>
    Slack,

    /// <summary>A Microsoft Teams-compatible connector payload: a <c>MessageCard</c>.</summary>
    Teams,
}
