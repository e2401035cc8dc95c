using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>An event's severity; an unknown word reads as <see cref="EventSeverity.Info"/> (as the dashboard always counted it).</summary>
public sealed class EventSeverityConverter() : FallbackEnumConverter<EventSeverity>(EventSeverity.Info);
