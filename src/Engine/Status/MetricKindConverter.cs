using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>A metric record's kind; an unknown word reads as <see cref="MetricKind.Unknown"/>, keeping the record without mistaking it for an epoch.</summary>
public sealed class MetricKindConverter() : FallbackEnumConverter<MetricKind>(MetricKind.Unknown);
