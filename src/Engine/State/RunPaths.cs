namespace StabilityTools.Engine.State;

/// <summary>
/// The files of one training run, <c>runs/&lt;run_id&gt;/</c>: its record, the trainer's documents and metric log, and its
/// checkpoints. Two runs never share a file, so trainers of one state directory never write the same one.
/// </summary>
/// <param name="RunId">The run id (see <see cref="StateDirectory.IsValidRunId"/>).</param>
/// <param name="Directory">The run's folder.</param>
public sealed record RunPaths(string RunId, string Directory)
{
    /// <summary><c>run.json</c>: the <see cref="Models.TrainingRun"/> record.</summary>
    public string RunInfoPath => Path.Combine(Directory, "run.json");

    /// <summary><c>training_status.json</c>: the trainer's live status.</summary>
    public string TrainingStatusPath => Path.Combine(Directory, "training_status.json");

    /// <summary><c>model_metrics.json</c>: the latest evaluation.</summary>
    public string ModelMetricsPath => Path.Combine(Directory, "model_metrics.json");

    /// <summary><c>metrics.jsonl</c>: the run's epoch and step records.</summary>
    public string MetricsLogPath => Path.Combine(Directory, "metrics.jsonl");

    /// <summary>
    /// <c>metrics.index</c>: the dashboard's saved history index of <c>metrics.jsonl</c>, the only file a dashboard writes in a
    /// run's folder. Derived data: rebuilt from the log when missing, damaged or stale, so safe to delete.
    /// </summary>
    public string HistoryIndexPath => Path.Combine(Directory, "metrics.index");

    /// <summary><c>market_data.json</c>: the market window and predictions the trainer last published.</summary>
    public string MarketDataPath => Path.Combine(Directory, "market_data.json");

    /// <summary><c>run.lock</c>: held by the trainer working on the run.</summary>
    public string LockPath => Path.Combine(Directory, "run.lock");

    /// <summary><c>model-final.bin</c>: the final model.</summary>
    public string FinalModelPath => Path.Combine(Directory, "model-final.bin");
}
