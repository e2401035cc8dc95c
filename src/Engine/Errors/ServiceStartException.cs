namespace StabilityTools.Engine.Errors;

/// <summary>
/// A service did not reach <c>running</c>: it exited during start, its supervisor failed, or the wait timed out.
/// Nothing of it is left running. The message ends with the tail of the service's log.
/// </summary>
public sealed class ServiceStartException : StabilityException
{
    /// <summary>Creates the exception for <paramref name="service"/>.</summary>
    public ServiceStartException(string service, string reason, string? logTail, Exception? innerException = null)
        : base(BuildMessage(service, reason, logTail), innerException)
    {
        Service = service;
        Reason = reason;
        LogTail = logTail;
    }

    /// <summary>Why the start failed, without the log.</summary>
    public string Reason { get; }

    /// <summary>The last lines of the service's output, when there were any.</summary>
    public string? LogTail { get; }

    /// <inheritdoc />
    public override string ErrorId => "ServiceStartFailed";

    private static string BuildMessage(string service, string reason, string? logTail) =>
        $"The service '{service}' did not start: {reason} Nothing of it is left running; see Get-StabilityLog -Name {service} for its whole log." +
        (string.IsNullOrWhiteSpace(logTail) ? "" : $"{Environment.NewLine}Last lines of its log:{Environment.NewLine}{logTail.TrimEnd()}");
}
