using System.Text.RegularExpressions;

namespace StabilityTools.Engine.Services;

/// <summary>
/// What <see cref="ServiceLogSearch"/> looks for in a service's log (issue #24, <c>Get-StabilityLog -Pattern -Since
/// -Until</c>): lines matching <see cref="Pattern"/>, written between <see cref="Since"/> and <see cref="Until"/>, the
/// last <see cref="Tail"/> of them. Every part is optional; an empty query is every line.
/// </summary>
/// <remarks>
/// Captured output carries no time of its own (the supervisor copies the service's bytes as they are), so the time of
/// a line is: its own leading ISO-8601 timestamp when it has one (<c>2026-12-04T18:00:00Z</c>, <c>2026-12-04
/// 18:00:00,123</c> as Python's logging writes it, or the supervisor log's <c>{"@t":"…"}</c>), else that of the last
/// timed line before it in the same file (the rest of a multi-line record), else none. A timestamp without an offset
/// is local time. Whole files are chosen by the span they were written in: from the last write of the next older
/// rotated file to their own last write (modification time); the oldest file has no known start. A file whose span
/// misses the window is skipped (the window is checked against the span first, whatever its lines say); in the
/// others a timed line is kept only inside the window, a line without a time is kept.
/// </remarks>
public sealed record ServiceLogQuery
{
    /// <summary>How long one line may take to match before the search gives up: a pathological pattern cannot hang it.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Only lines that match; null: every line.</summary>
    public Regex? Pattern { get; init; }

    /// <summary>Only lines written at or after this time; null: from the oldest rotated file.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only lines written at or before this time; null: up to the newest line.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only the last this many of the lines that pass the filters; null: all of them, oldest first.</summary>
    public int? Tail { get; init; }

    /// <summary>True when the query filters by pattern or time.</summary>
    public bool Filters => Pattern is not null || Since is not null || Until is not null;

    /// <summary>
    /// Compiles a pattern as <c>Select-String</c> does (case-insensitive unless asked, culture-invariant), bounded by
    /// <see cref="MatchTimeout"/>.
    /// </summary>
    /// <param name="pattern">A .NET regular expression.</param>
    /// <param name="caseSensitive">Match case exactly.</param>
    /// <param name="parameterName">The caller's name for the pattern, for the message (a cmdlet's <c>-Pattern</c>).</param>
    /// <exception cref="ArgumentException">The pattern is not a valid regular expression; the message says where and how to fix it.</exception>
    public static Regex ParsePattern(string pattern, bool caseSensitive = false, string parameterName = "Pattern")
    {
        ArgumentNullException.ThrowIfNull(pattern);
        try
        {
            var options = RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase);
            return new Regex(pattern, options, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException(
                $"-{parameterName} '{pattern}' is not a valid regular expression: {ex.Message} Fix the expression, or escape characters meant literally (such as '[', '(' or '*') with '\\' or [regex]::Escape().",
                parameterName, ex);
        }
    }

    /// <summary>Checks the window and the tail together.</summary>
    /// <exception cref="ArgumentException">The window ends before it starts, or the tail is negative.</exception>
    public ServiceLogQuery Validate()
    {
        if (Since is { } since && Until is { } until && until < since)
        {
            throw new ArgumentException($"-Until ({until:O}) is before -Since ({since:O}): give a window that ends after it starts.", nameof(Until));
        }

        if (Tail is < 0)
        {
            throw new ArgumentException($"-Tail {Tail} is negative: give 0 or more lines.", nameof(Tail));
        }

        return this;
    }
}
