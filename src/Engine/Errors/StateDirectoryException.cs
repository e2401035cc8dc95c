namespace StabilityTools.Engine.Errors;

/// <summary>The state directory cannot be created, read or written.</summary>
public sealed class StateDirectoryException : StabilityException
{
    /// <summary>Creates the exception for the state directory at <paramref name="path"/>.</summary>
    public StateDirectoryException(string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <inheritdoc />
    public override string ErrorId => "StateDirectoryUnusable";
}
