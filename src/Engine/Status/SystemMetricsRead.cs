namespace StabilityTools.Engine.Status;

/// <summary>The points of a <c>system_metrics.jsonl</c>, oldest first, with how many lines had to be skipped.</summary>
/// <param name="Points">The valid points, oldest first.</param>
/// <param name="Skipped">Lines that were not valid points: corrupt, over the size cap, or a partial last line a killed writer left.</param>
public sealed record SystemMetricsRead(IReadOnlyList<SystemMetricsPoint> Points, int Skipped);
