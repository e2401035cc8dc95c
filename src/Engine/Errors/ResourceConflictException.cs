namespace StabilityTools.Engine.Errors;

/// <summary>
/// A resource is already taken: a port in use, an exclusive GPU claimed twice, a service name already running.
/// </summary>
public class ResourceConflictException : StabilityException
{
    /// <summary>Creates the exception for <paramref name="resource"/>.</summary>
    public ResourceConflictException(string resource, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Resource = resource;
    }

    /// <summary>The resource in conflict, e.g. <c>port 8050</c> or <c>gpu 0</c>.</summary>
    public string Resource { get; }

    /// <inheritdoc />
    public override string ErrorId => "ResourceConflict";
}
