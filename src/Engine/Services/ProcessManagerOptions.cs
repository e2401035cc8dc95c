using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>Options of a <see cref="ProcessManager"/>. Plain values with documented defaults; validated once.</summary>
public sealed class ProcessManagerOptions
{
    /// <summary>A supervisor whose heartbeat is older than this is taken for gone (state <c>unknown</c>). Default 5 s.</summary>
    public TimeSpan StaleAfter { get; init; } = Status.Liveness.SupervisorStaleAfter;

    /// <summary>The longest wait for a new service to reach <c>running</c>, on top of its spec's startup grace. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait for a supervisor to acknowledge a control request. Default 5 s.</summary>
    public TimeSpan ControlTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often waits look at <c>status.json</c>. Default 10 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The clock for staleness and waits. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Options of the status store used to read and write documents. Default: the store's defaults.</summary>
    public StatusStoreOptions? StoreOptions { get; init; }

    /// <summary>The Slurm client for services that run as Slurm jobs. Default: the Slurm tools on PATH.</summary>
    public Engine.Slurm.SlurmClient? Slurm { get; init; }

    /// <summary>The launcher for services that run as Slurm jobs. Default: a <see cref="Services.SlurmLauncher"/> over <see cref="Slurm"/>.</summary>
    public IServiceLauncher? SlurmLauncher { get; init; }

    /// <summary>The defaults.</summary>
    public static ProcessManagerOptions Default { get; } = new();

    /// <summary>Checks every option and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public ProcessManagerOptions Validate()
    {
        var problems = new List<string>();
        if (StaleAfter <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(StaleAfter)} must be positive (was {StaleAfter}).");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(StartTimeout)} must be positive (was {StartTimeout}).");
        }

        if (ControlTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(ControlTimeout)} must be positive (was {ControlTimeout}).");
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromSeconds(1))
        {
            problems.Add($"{nameof(PollInterval)} must be between 0 and 1 s (was {PollInterval}).");
        }

        return problems.Count == 0 ? this : throw new ArgumentException(string.Join(" ", problems));
    }
}
