namespace StabilityTools.Engine.Errors;

/// <summary>No service of that name exists in the state directory.</summary>
public sealed class ServiceNotFoundException : StabilityException
{
    /// <summary>Creates the exception for <paramref name="service"/> in the state directory <paramref name="stateRoot"/>.</summary>
    public ServiceNotFoundException(string service, string stateRoot)
        : base($"There is no service '{service}' in the state directory '{stateRoot}'. Run Get-ProcessStatus to list the services there, " +
               "or pass the right -StateDirectory.")
    {
        Service = service;
        Path = stateRoot;
    }

    /// <inheritdoc />
    public override string ErrorId => "ServiceNotFound";
}
