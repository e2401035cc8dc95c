using System.Text.Json;
using System.Text.Json.Serialization;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>
/// Compile-time JSON metadata for every document and log record of the status-file contract (the types of
/// <see cref="StatusSchemas.Types"/>), so that the native (AOT) supervisor reads and writes them without
/// reflection. First in <see cref="StatusJson.Options"/>' resolver chain.
/// </summary>
/// <remarks>
/// Metadata only, no fast-path serializers: the bytes written are then decided by <see cref="StatusJson.Options"/>
/// alone (naming, encoder, number handling, enum converters), exactly as with the reflection resolver. The
/// conventions repeated here only make <see cref="Default"/> agree with it when used on its own.
/// </remarks>
[JsonSourceGenerationOptions(
    GenerationMode = JsonSourceGenerationMode.Metadata,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowTrailingCommas = false,
    WriteIndented = false,
    RespectNullableAnnotations = false,
    Converters =
    [
        typeof(SnakeCaseEnumConverter<ServiceState>),
        typeof(SnakeCaseEnumConverter<ServiceKind>),
        typeof(SnakeCaseEnumConverter<RestartPolicy>),
        typeof(SnakeCaseEnumConverter<ControlCommand>),
        typeof(EventSeverityConverter),
        typeof(QuotaActionConverter),
        typeof(TrainerStateConverter),
        typeof(MetricKindConverter),
        typeof(SnakeCaseEnumConverter<AlertTrigger>),
        typeof(SnakeCaseEnumConverter<AlertFormat>),
        typeof(SnakeCaseEnumConverter<ReadState>),
    ])]
[JsonSerializable(typeof(ProcessStatus))]
[JsonSerializable(typeof(TrainingStatus))]
[JsonSerializable(typeof(DashboardState))]
[JsonSerializable(typeof(MarketData))]
[JsonSerializable(typeof(ModelMetrics))]
[JsonSerializable(typeof(ResourceQuotas))]
[JsonSerializable(typeof(MetricRecord))]
[JsonSerializable(typeof(TrainingRun))]
[JsonSerializable(typeof(StabilityEvent))]
[JsonSerializable(typeof(ServiceSpec))]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(SlurmJobRecord))]
[JsonSerializable(typeof(SweepPlan))]
[JsonSerializable(typeof(SweepProgress))]
[JsonSerializable(typeof(AlertRules))]
[JsonSerializable(typeof(AlertState))]
[JsonSerializable(typeof(SystemMetricsPoint))]
[JsonSerializable(typeof(AlertTrigger))]
[JsonSerializable(typeof(AlertFormat))]
[JsonSerializable(typeof(ReadState))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
