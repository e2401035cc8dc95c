using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Data;

/// <summary>An event with the dashboard's sequence number.</summary>
/// <param name="Seq">1-based, in the order read.</param>
/// <param name="Event">The event.</param>
internal sealed record SequencedEvent(long Seq, StabilityEvent Event);
