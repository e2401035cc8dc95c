using System.Text.Json;
using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Status;

/// <summary>
/// Writes and reads <typeparamref name="TEnum"/> as a snake_case string (<c>[JsonStringEnumMemberName]</c> wins),
/// never as a number: the enum convention of the status-file contract, without the run-time code generation the
/// non-generic <see cref="JsonStringEnumConverter"/> needs (so it works in the native supervisor too).
/// </summary>
/// <typeparam name="TEnum">The enum type.</typeparam>
public sealed class SnakeCaseEnumConverter<TEnum> : JsonStringEnumConverter<TEnum>
    where TEnum : struct, Enum
{
    /// <summary>A converter with the snake_case naming policy and integer values refused.</summary>
    public SnakeCaseEnumConverter()
        : base(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    {
    }
}
