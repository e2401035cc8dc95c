namespace StabilityTools.Engine.Models;

/// <summary>
/// How much a <see cref="StabilityEvent"/> matters; written <c>info</c>, <c>warning</c>, <c>error</c>. A reader that
/// meets a word it does not know (from a newer writer) reads <see cref="Info"/>, keeping the event rather than
/// dropping its line (docs/status-files.md).
/// </summary>
public enum EventSeverity
{
    /// <summary>Something happened as it should (started, completed, a requested stop).</summary>
    Info,

    /// <summary>Something went wrong and was handled (a restart, a killed orphan, a limit warning).</summary>
    Warning,

    /// <summary>Something went wrong that needs a person (fatal, a failed kill, a limit enforced).</summary>
    Error,
}
