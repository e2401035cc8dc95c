using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>
/// JSON Schemas of the status-file contract, generated from the model types so that the published schemas
/// (docs/schemas/) cannot drift from what the code reads and writes; a test compares the two.
/// </summary>
public static class StatusSchemas
{
    /// <summary>The documents and log records of the contract, by file name (without <c>.schema.json</c>).</summary>
    public static IReadOnlyDictionary<string, Type> Types { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        ["process_status"] = typeof(ProcessStatus),
        ["training_status"] = typeof(TrainingStatus),
        ["dashboard_state"] = typeof(DashboardState),
        ["market_data"] = typeof(MarketData),
        ["model_metrics"] = typeof(ModelMetrics),
        ["resource_quotas"] = typeof(ResourceQuotas),
        ["metric_record"] = typeof(MetricRecord),
        ["training_run"] = typeof(TrainingRun),
        ["stability_event"] = typeof(StabilityEvent),
        ["service_spec"] = typeof(ServiceSpec),
        ["control_request"] = typeof(ControlRequest),
        ["slurm_job"] = typeof(SlurmJobRecord),
        ["sweep_plan"] = typeof(SweepPlan),
        ["sweep_progress"] = typeof(SweepProgress),
        ["alert_rules"] = typeof(AlertRules),
        ["alert_state"] = typeof(AlertState),
        ["system_metrics_point"] = typeof(SystemMetricsPoint),
    };

    /// <summary>Registers a further document type (e.g. one defined by the supervisor) for <see cref="Export"/>.</summary>
    public static IReadOnlyDictionary<string, Type> With(params (string Name, Type Type)[] more)
    {
        var all = new Dictionary<string, Type>((IDictionary<string, Type>)Types, StringComparer.Ordinal);
        foreach (var (name, type) in more)
        {
            all[name] = type;
        }

        return all;
    }

    /// <summary>The schema of <paramref name="type"/> as indented JSON text.</summary>
    public static string Export(string name, Type type)
    {
        var schema = StatusJson.Options.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = false,
            // An open vocabulary (a reader takes an unknown word as a default) is a string to the schema, not a closed enum.
            TransformSchemaNode = (context, node) => IsOpenVocabulary(context.TypeInfo.Converter) ? new JsonObject { ["type"] = "string" } : node,
        });
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = $"https://stabilitytools.invalid/schemas/{name}.schema.json",
            ["title"] = name,
        };
        if (typeof(StatusDocument).IsAssignableFrom(type))
        {
            var schemaName = (string)type.GetProperty("SchemaName")!.GetValue(null)!;
            var version = (int)type.GetProperty("SchemaVersion")!.GetValue(null)!;
            root["description"] = $"A status document. Its 'schema' is \"{schemaName}/{version}\"; see docs/status-files.md.";
        }
        else
        {
            root["description"] = "One line of an append-only JSON-lines log; see docs/status-files.md.";
        }

        foreach (var (key, value) in schema.AsObject().ToList())
        {
            schema.AsObject().Remove(key);
            root[key] = value;
        }

        // A document or a log line is an object, never null, whatever the exporter says of a reference type.
        root["type"] = "object";
        if (typeof(StatusDocument).IsAssignableFrom(type))
        {
            var schemaName = (string)type.GetProperty("SchemaName")!.GetValue(null)!;
            var version = (int)type.GetProperty("SchemaVersion")!.GetValue(null)!;
            root["properties"]!["schema"] = new JsonObject { ["type"] = "string", ["const"] = $"{schemaName}/{version}" };
            root["required"] = new JsonArray("schema", "seq", "written_at", "writer");
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static bool IsOpenVocabulary(JsonConverter converter)
    {
        for (var type = converter.GetType(); type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(FallbackEnumConverter<>))
            {
                return true;
            }
        }

        return false;
    }
}
