using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Models;

/// <summary>
/// The word the status files use for an enum value, by the rule of the contract's converters: the member's
/// <c>[JsonStringEnumMemberName]</c> when it has one (<c>reload-limits</c>), else its name in snake_case (<c>corrupt</c>).
/// For the layers below Status (an exception's message) that cannot ask <c>StatusJson.WireName</c>, which writes
/// through the converters themselves; a test holds the two to the same word for every enum of the contract.
/// </summary>
public static class ContractWords
{
    /// <summary>The contract's word for <paramref name="value"/>; a number for a value no member has.</summary>
    public static string Of<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)] TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        var name = value.ToString();
        return typeof(TEnum).GetField(name, BindingFlags.Public | BindingFlags.Static) is { } member
            ? member.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(name)
            : name;
    }
}
