namespace StabilityTools.Engine.Errors;

/// <summary>
/// A resource request that can never be met: a GPU quota above the device's memory, an unknown device, CPU
/// affinity outside the machine's cores, a priority out of range. The message says what the machine has.
/// </summary>
public sealed class ResourceRequestException : StabilityException
{
    /// <summary>Creates the exception.</summary>
    public ResourceRequestException(string message)
        : base(message)
    {
    }

    /// <inheritdoc />
    public override string ErrorId => "InvalidResourceRequest";
}
