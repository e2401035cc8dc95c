using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>
/// The JSON conventions of the status-file contract (docs/status-files.md): snake_case names, enums
/// as snake_case strings, ISO-8601 timestamps, and NaN/Infinity written as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (a training loss can be NaN).
/// </summary>
/// <remarks>
/// Type metadata comes from the source-generated <see cref="StatusJsonContext"/> for the contract's own documents
/// (all the native supervisor ever reads or writes), then, where reflection is enabled (everywhere but a trimmed or
/// native build), from reflection for any other type (the dashboard's API views, the trainer's checkpoint metadata).
/// </remarks>
public static class StatusJson
{
    /// <summary>The shared serializer options. Do not mutate.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>The metadata of <typeparamref name="T"/> under <see cref="Options"/>: the trim-safe way to (de)serialize.</summary>
    /// <exception cref="NotSupportedException">
    /// <typeparamref name="T"/> is not one of <see cref="StatusJsonContext"/>'s types and reflection is disabled.
    /// </exception>
    public static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    /// <summary>
    /// The contract's word for an enum value (<c>reload-limits</c>, <c>on-failure</c>, <c>running</c>): the one converter
    /// that writes documents names it in messages and events too, so no caller spells a name by hand.
    /// </summary>
    public static string WireName<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        // Cached: a view names a kind or state per row (the dashboard's CSV), and the words never change.
        WireNames<TEnum>.Names.GetOrAdd(value, static v =>
        {
            var json = JsonSerializer.Serialize(v, TypeInfo<TEnum>());
            return json.Length >= 2 && json[0] == '"' ? json[1..^1] : json;
        });

    private static class WireNames<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly ConcurrentDictionary<TEnum, string> Names = new();
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            WriteIndented = false,
            RespectNullableAnnotations = false,
            TypeInfoResolver = JsonSerializer.IsReflectionEnabledByDefault
                ? JsonTypeInfoResolver.Combine(StatusJsonContext.Default, new DefaultJsonTypeInfoResolver())
                : StatusJsonContext.Default,
        };
        // The contract's enums, each with its own generic converter (no run-time code generation), then, where
        // reflection is enabled, one factory for any other enum.
        options.Converters.Add(new SnakeCaseEnumConverter<ServiceState>());
        options.Converters.Add(new SnakeCaseEnumConverter<ServiceKind>());
        options.Converters.Add(new SnakeCaseEnumConverter<RestartPolicy>());
        options.Converters.Add(new SnakeCaseEnumConverter<ControlCommand>());
        options.Converters.Add(new EventSeverityConverter());
        options.Converters.Add(new QuotaActionConverter());
        options.Converters.Add(new TrainerStateConverter());
        options.Converters.Add(new MetricKindConverter());
        options.Converters.Add(new SnakeCaseEnumConverter<AlertTrigger>());
        options.Converters.Add(new SnakeCaseEnumConverter<AlertFormat>());
        // Not in any document, but named in messages and reports through WireName, in the native supervisor too.
        options.Converters.Add(new SnakeCaseEnumConverter<ReadState>());
        if (JsonSerializer.IsReflectionEnabledByDefault)
        {
            options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        }

        options.MakeReadOnly();
        return options;
    }
}
