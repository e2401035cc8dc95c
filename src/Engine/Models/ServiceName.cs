using System.Text.RegularExpressions;

namespace StabilityTools.Engine.Models;

/// <summary>
/// The rule for a service name. It lives with the documents (a spec's <c>name</c> is one) so that they need nothing
/// above them; <see cref="State.StateDirectory.IsValidServiceName"/> applies the same rule to directory names.
/// </summary>
public static partial class ServiceName
{
    /// <summary>True when <paramref name="name"/> is a valid service name: 1–63 characters of a–z, 0–9, '.', '_' and '-', starting with a letter or digit.</summary>
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9._-]{0,62}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
