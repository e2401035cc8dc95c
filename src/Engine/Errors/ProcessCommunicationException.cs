namespace StabilityTools.Engine.Errors;

/// <summary>
/// Inter-process communication through the state directory failed: a lock was not obtained in time,
/// a status file could not be written, or a control request was not acknowledged.
/// </summary>
public class ProcessCommunicationException : StabilityException
{
    /// <summary>Creates the exception.</summary>
    public ProcessCommunicationException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <inheritdoc />
    public override string ErrorId => "ProcessCommunicationError";
}
