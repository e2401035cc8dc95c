namespace StabilityTools.Engine.Errors;

/// <summary>The state directory cannot be created, read or written.</summary>
public sealed class StateDirectoryException : StabilityException
{
    /// <summary>Creates the exception for the state directory at <paramref name="path"/>.</summary>
    public StateDirectoryException(string path, string message, Exception? innerException = null, string errorId = "StateDirectoryUnusable")
        : base(message, innerException)
    {
        Path = path;
        ErrorId = errorId;
    }

    /// <summary>The error id of a state directory that others could write (not owned by you or root, or group/world-writable).</summary>
    public const string UntrustedErrorId = "StateDirectoryUntrusted";

    /// <inheritdoc />
    public override string ErrorId { get; }
}
