namespace StabilityTools.Engine.Errors;

/// <summary>
/// A status document or log record could not be written. The previous document is left intact.
/// </summary>
public sealed class StatusWriteException : ProcessCommunicationException
{
    /// <summary>Creates the exception for the document at <paramref name="path"/>.</summary>
    public StatusWriteException(string path, bool isDiskFull, Exception innerException)
        : base(BuildMessage(path, isDiskFull, innerException), innerException)
    {
        Path = path;
        IsDiskFull = isDiskFull;
    }

    /// <summary>True when the write failed because the file system is full.</summary>
    public bool IsDiskFull { get; }

    /// <inheritdoc />
    public override string ErrorId => IsDiskFull ? "StatusWriteDiskFull" : IsUnsafeFile ? UnsafeFileException.ErrorId : "StatusWriteFailed";

    /// <summary>True when the write was refused because a link or a foreign-owned file stood at the name.</summary>
    public bool IsUnsafeFile => InnerException is UnsafeFileException;

    private static string BuildMessage(string path, bool isDiskFull, Exception inner) => isDiskFull
        ? $"Could not write '{path}': the file system is full. The previous document is intact. Free space on that file system, or move the state directory (-StateDirectory or STABILITY_HOME)."
        : $"Could not write '{path}': {inner.Message} The previous document is intact.";
}
