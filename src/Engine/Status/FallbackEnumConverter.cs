using System.Text.Json;
using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Status;

/// <summary>
/// Writes <typeparamref name="TEnum"/> as <see cref="SnakeCaseEnumConverter{TEnum}"/> does, and reads a name it does not
/// know as <c>fallback</c> instead of failing: for an open vocabulary that a newer writer may extend (an event's
/// severity), where losing the whole record over one word would be worse than reading it as the default.
/// </summary>
/// <typeparam name="TEnum">The enum type.</typeparam>
public abstract class FallbackEnumConverter<TEnum>(TEnum fallback) : JsonConverter<TEnum>
    where TEnum : struct, Enum
{
    private JsonConverter<TEnum>? _names;

    /// <inheritdoc />
    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return fallback;
        }

        try
        {
            return Names(options).Read(ref reader, typeToConvert, options);
        }
        catch (JsonException)
        {
            return fallback;
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
        Names(options).Write(writer, value, options);

    private JsonConverter<TEnum> Names(JsonSerializerOptions options) =>
        _names ??= (JsonConverter<TEnum>)new SnakeCaseEnumConverter<TEnum>().CreateConverter(typeof(TEnum), options)!;
}
