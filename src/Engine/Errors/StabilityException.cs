namespace StabilityTools.Engine.Errors;

/// <summary>
/// The root of every error StabilityTools raises on purpose (the seed's <c>UIStabilityError</c>).
/// The message says what failed, where, and what to do; inner exceptions are always kept.
/// </summary>
public class StabilityException : Exception
{
    /// <summary>Creates the exception with a message that says what failed and what to do.</summary>
    public StabilityException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>A stable identifier for this kind of failure, used as the PowerShell error id.</summary>
    public virtual string ErrorId => "StabilityError";

    /// <summary>The service the failure concerns, when there is one.</summary>
    public string? Service { get; init; }

    /// <summary>The file the failure concerns, when there is one.</summary>
    public string? Path { get; init; }
}
