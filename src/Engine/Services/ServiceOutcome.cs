using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.Services;

/// <summary>What an action on one of many services came to (<see cref="ProcessManager.ForEachServiceAsync"/>): its status, or why it failed.</summary>
/// <param name="Name">The service.</param>
/// <param name="Info">Its status once the action was done; null when it failed.</param>
/// <param name="Error">Why it failed (a <see cref="StabilityException"/> or an <see cref="ArgumentException"/>); null when it succeeded.</param>
public sealed record ServiceOutcome(string Name, ServiceInfo? Info, Exception? Error)
{
    /// <summary>True when the action succeeded.</summary>
    public bool Succeeded => Error is null;
}
