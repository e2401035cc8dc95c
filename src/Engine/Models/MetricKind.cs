namespace StabilityTools.Engine.Models;

/// <summary>
/// What a <see cref="MetricRecord"/> measures (its <c>kind</c>): written <c>epoch</c> or <c>step</c>. A reader that meets a
/// word it does not know (from a newer writer) reads <see cref="Unknown"/> and keeps the record: it is then neither an
/// epoch summary (never taken for one, so it cannot replace one) nor a step (docs/status-files.md).
/// </summary>
public enum MetricKind
{
    /// <summary>A word this version does not know, or no <c>kind</c> at all (the zero a missing field reads as); never written to <c>metrics.jsonl</c> by this version.</summary>
    Unknown,

    /// <summary>A completed epoch, with its validation figures; recorded once per run.</summary>
    Epoch,

    /// <summary>A sampled optimizer step.</summary>
    Step,

    /// <summary>
    /// A point that averages records of both kinds: made only where a history is downsampled for a chart (the
    /// dashboard's <c>/api/metrics</c>), never written to <c>metrics.jsonl</c>.
    /// </summary>
    Mixed,
}
