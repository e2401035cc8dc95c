namespace StabilityTools.Engine.Models;

/// <summary>Who asked for something: user, process and host, for the audit trail in <c>events.jsonl</c>.</summary>
/// <param name="User">The user name.</param>
/// <param name="Pid">The requesting process.</param>
/// <param name="Host">The requesting host.</param>
public sealed record Requester(string User, int Pid, string Host)
{
    /// <summary>The current user and process.</summary>
    public static Requester Current => new(Environment.UserName, Environment.ProcessId, Environment.MachineName);
}
