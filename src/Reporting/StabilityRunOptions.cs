namespace StabilityTools.Reporting;

/// <summary>
/// How <see cref="StabilityRun.Open"/> opens a run. Under a supervisor leave the location empty: the run is the one it
/// passes in the environment. By hand, name the state directory and (to resume) the run.
/// </summary>
public sealed record StabilityRunOptions
{
    /// <summary>The state directory. Null: <c>$STABILITY_HOME</c>, else the per-user default (as every cmdlet).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>The run. A supervisor's <c>STABILITY_RUN_ID</c> wins over it (every restart of a service resumes the
    /// service's run); null with neither: a new run.</summary>
    public string? RunId { get; init; }

    /// <summary>The service the run's events are written as. Null: <c>$STABILITY_SERVICE</c>, else <c>training</c>.</summary>
    public string? Service { get; init; }

    /// <summary>Epochs in the run (0: unknown; <see cref="StabilityRun.Epochs"/> needs it).</summary>
    public int TotalEpochs { get; init; }

    /// <summary>Steps per epoch, for the status's progress and ETA (0: unknown).</summary>
    public int StepsPerEpoch { get; init; }

    /// <summary>The device, as the status and <c>run.json</c> show it. Default <c>cpu</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>The trainer's name in <c>run.json</c>. Null: the entry assembly's name.</summary>
    public string? Trainer { get; init; }

    /// <summary>Checkpoints kept (the newest ones). Default 3.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>How often the heartbeat thread rewrites <c>training_status.json</c>. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Turn SIGTERM and SIGINT into <see cref="StabilityRun.StopToken"/>. Default true; false when the
    /// program handles them itself (it then calls <see cref="StabilityRun.RequestStop"/>).</summary>
    public bool HandleSignals { get; init; } = true;

    /// <summary>How long opening waits for another trainer of the same run to let go of it. Default 15 s.</summary>
    public TimeSpan RunLockTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a write waits for another writer's lock on a document. Default 5 s.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>fsync live documents (status, metrics) before their rename. Default false: the rename alone leaves a
    /// whole document after a kill; checkpoints and <c>run.json</c> are always fsynced.</summary>
    public bool Fsync { get; init; }

    /// <summary>Where the environment is read (tests). Null: the process's.</summary>
    public Func<string, string?>? Environment { get; init; }
}
