using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Status;

/// <summary>
/// The JSON conventions of the status-file contract (docs/status-files.md): snake_case names, enums
/// as snake_case strings, ISO-8601 timestamps, and NaN/Infinity written as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (a training loss can be NaN).
/// </summary>
public static class StatusJson
{
    /// <summary>The shared serializer options. Do not mutate.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

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
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
