namespace StabilityTools.Trainer.Configuration;

/// <summary>The <c>status</c> section.</summary>
internal sealed record StatusOptions
{
    /// <summary>How often the background writer refreshes <c>training_status.json</c> (heartbeat). Default 500 ms.</summary>
    public int WriteIntervalMs { get; init; } = 500;

    /// <summary>A <c>step</c> record goes to <c>metrics.jsonl</c> every this many steps. Default 50.</summary>
    public int StepSampleEvery { get; init; } = 50;

    /// <summary>Bars (with predictions) in <c>market_data.json</c>. Default 64.</summary>
    public int PredictionBars { get; init; } = 64;

    /// <summary>
    /// fsync each status document before its rename. Default false: the rename alone already guarantees that a
    /// killed trainer leaves a whole document (old or new); fsync adds only power-loss durability, which a live
    /// view rewritten every interval does not need, and it cost ~1.3 ms of CPU per write here (vs ~0.2 ms without).
    /// Checkpoints, the durable record, are always fsynced.
    /// </summary>
    public bool Fsync { get; init; }

    /// <summary>False turns every status write off (for benchmarks only; not a configuration key). Default true.</summary>
    public bool Enabled { get; init; } = true;
}
