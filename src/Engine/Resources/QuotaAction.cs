namespace StabilityTools.Engine.Resources;

/// <summary>What a supervisor does when a service exceeds a quota or limit.</summary>
public static class QuotaAction
{
    /// <summary>Record an event (and alert), leave the service running.</summary>
    public const string Warn = "warn";

    /// <summary>Restart the service.</summary>
    public const string Restart = "restart";

    /// <summary>Stop the service.</summary>
    public const string Stop = "stop";

    /// <summary>All actions.</summary>
    public static IReadOnlyList<string> All { get; } = [Warn, Restart, Stop];

    /// <summary>Returns the action, lower-cased, when valid.</summary>
    /// <exception cref="Errors.ResourceRequestException">Not one of warn, restart, stop.</exception>
    public static string Validate(string action)
    {
        var normal = action.Trim().ToLowerInvariant();
        return All.Contains(normal)
            ? normal
            : throw new Errors.ResourceRequestException($"'{action}' is not an action: use warn, restart or stop.");
    }
}
