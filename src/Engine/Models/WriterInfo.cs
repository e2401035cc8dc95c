namespace StabilityTools.Engine.Models;

/// <summary>The process that wrote a document: its pid and host name.</summary>
/// <param name="Pid">The writing process's id.</param>
/// <param name="Host">The host the writing process ran on.</param>
public sealed record WriterInfo(int Pid, string Host)
{
    /// <summary>The current process.</summary>
    public static WriterInfo Current { get; } = new(Environment.ProcessId, Environment.MachineName);
}
