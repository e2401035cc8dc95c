using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// Reads query values strictly, collecting every problem, so that a bad request gets one 400 problem
/// details response that names each bad parameter (never a 500, never a silent default).
/// </summary>
internal sealed class QueryReader(IQueryCollection query)
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool HasErrors => _errors.Count > 0;

    public IResult Problem() => TypedResults.ValidationProblem(_errors, title: "Invalid query parameters");

    public int Integer(string name, int fallback, int min, int max) =>
        Single(name) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : Error(name, $"'{Clip(text)}' is not an integer from {min} to {max}.", fallback)
            : fallback;

    public long Long(string name, long fallback, long min) =>
        Single(name) is { } text
            ? long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min
                ? value
                : Error(name, $"'{Clip(text)}' is not an integer of at least {min}.", fallback)
            : fallback;

    public DateTimeOffset? Timestamp(string name) =>
        Single(name) is { } text
            ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
              && text.Length >= 10
                ? value
                : Error<DateTimeOffset?>(name, $"'{Clip(text)}' is not an ISO-8601 time, e.g. 2026-01-31T12:00:00Z.", null)
            : null;

    public string Choice(string name, string fallback, params string[] allowed) =>
        Single(name) is { } text
            ? allowed.Contains(text, StringComparer.Ordinal) ? text : Error(name, $"'{Clip(text)}' is not one of: {string.Join(", ", allowed)}.", fallback)
            : fallback;

    /// <summary>An optional value that must be one of <paramref name="allowed"/>; null when absent.</summary>
    public string? Optional(string name, params string[] allowed) =>
        Single(name) is { } text
            ? allowed.Contains(text, StringComparer.Ordinal) ? text : Error<string?>(name, $"'{Clip(text)}' is not one of: {string.Join(", ", allowed)}.", null)
            : null;

    /// <summary>An optional value that passes <paramref name="valid"/>; null when absent or bad (then an error says it should be <paramref name="expected"/>).</summary>
    public string? Matching(string name, Func<string, bool> valid, string expected) =>
        Single(name) is { } text
            ? valid(text) ? text : Error<string?>(name, $"'{Clip(text)}' is not {expected}.", null)
            : null;

    /// <summary>Records that a required parameter is missing.</summary>
    public void Require(string name, string message) => Error<string?>(name, message, null);

    private string? Single(string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        if (values.Count != 1)
        {
            return Error<string?>(name, "give this parameter once.", null);
        }

        return values[0] is { Length: > 0 } value ? value : Error<string?>(name, "the value is empty.", null);
    }

    private T Error<T>(string name, string message, T fallback)
    {
        _errors[name] = [message];
        return fallback;
    }

    // Echo at most a little of what was sent: enough to recognise it, not enough to reflect a payload.
    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
