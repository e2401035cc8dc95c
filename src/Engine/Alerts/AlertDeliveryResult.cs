namespace StabilityTools.Engine.Alerts;

/// <summary>How one delivery went.</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Target">What it was sent to, without secrets: a webhook's scheme, host and port (never its path, which often holds a token), or a command's program.</param>
/// <param name="Succeeded">A 2xx answer, or exit code 0.</param>
/// <param name="StatusCode">The webhook's HTTP status, when it answered.</param>
/// <param name="ExitCode">The command's exit code, when it exited.</param>
/// <param name="Error">Why it failed, when it did.</param>
/// <param name="Elapsed">How long it took.</param>
public sealed record AlertDeliveryResult(string Rule, string Target, bool Succeeded, int? StatusCode, int? ExitCode, string? Error, TimeSpan Elapsed);
