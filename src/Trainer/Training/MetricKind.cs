namespace StabilityTools.Trainer.Training;

/// <summary>
/// What a <c>metrics.jsonl</c> record measures (its <c>kind</c>, written as <c>epoch</c> or <c>step</c> by
/// <see cref="WireNames"/>).
/// </summary>
internal enum MetricKind
{
    /// <summary>A completed epoch, with its validation figures; recorded once per run.</summary>
    Epoch,

    /// <summary>A sampled optimizer step (every <c>status:step_sample_every</c> steps).</summary>
    Step,
}
