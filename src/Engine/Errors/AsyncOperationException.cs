namespace StabilityTools.Engine.Errors;

/// <summary>A background or asynchronous operation failed or timed out.</summary>
public class AsyncOperationException : StabilityException
{
    /// <summary>Creates the exception for the named <paramref name="operation"/>.</summary>
    public AsyncOperationException(string operation, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Operation = operation;
    }

    /// <summary>The name of the operation that failed.</summary>
    public string Operation { get; }

    /// <inheritdoc />
    public override string ErrorId => "AsyncOperationError";
}
