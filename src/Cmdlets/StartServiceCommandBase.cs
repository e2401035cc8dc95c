using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>The shared start of Start-TrainingProcess and Start-Dashboard: they differ only in the spec they build.</summary>
public abstract class StartServiceCommandBase : StabilityCmdlet
{
    /// <summary>A start is the one command that does not take a service back first: it starts it afresh (see <see cref="StabilityCmdlet.HealsFirst"/>).</summary>
    protected override bool HealsFirst => false;

    /// <summary>Write the service's status when it is running.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Return as soon as the supervisor runs (its status.json names it), without waiting until the service is running.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>More than this many restarts within -CircuitWindowSeconds make the service fatal. Default 5.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int? CircuitMaxRestarts { get; set; }

    /// <summary>The circuit breaker's window, seconds. Default 60.</summary>
    [Parameter]
    [ValidateRange(1, 86_400)]
    public int? CircuitWindowSeconds { get; set; }

    /// <summary>The longest restart delay, seconds; 0 restarts at once every time. Default 30.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? BackoffMaxSeconds { get; set; }

    /// <summary>
    /// Exit codes no restart can fix (like systemd's RestartPreventExitStatus), added to 78 (EX_CONFIG, a configuration
    /// error), which always counts: such an exit makes the service Fatal at once, without a restart. Each 1 to 128 or
    /// 193 to 255.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 255)]
    public int[]? NoRestartExitCode { get; set; }

    /// <summary>
    /// The CPU scheduling policy of the service (spec <c>cpu_policy</c>): <c>Idle</c> (Linux SCHED_IDLE, the lowest weight)
    /// or <c>Normal</c>. Default: each kind's own (<c>Idle</c> for a dashboard, whose health probe keeps a floor under it;
    /// the supervisor's for the rest).
    /// </summary>
    [Parameter]
    [ValidateSet("Idle", "Normal")]
    public string? CpuPolicy { get; set; }

    /// <summary>Applies -CircuitMaxRestarts, -CircuitWindowSeconds, -BackoffMaxSeconds, -NoRestartExitCode and -CpuPolicy to <paramref name="spec"/>; the caller validates.</summary>
    protected ServiceSpec WithRestartOptions(ServiceSpec spec)
    {
        var backoffMaxMs = BackoffMaxSeconds is { } max ? max * 1000 : spec.BackoffMaxMs;
        return spec with
        {
            CircuitMaxRestarts = CircuitMaxRestarts ?? spec.CircuitMaxRestarts,
            CircuitWindowMs = CircuitWindowSeconds is { } window ? window * 1000 : spec.CircuitWindowMs,
            BackoffMaxMs = backoffMaxMs,
            // A cap below the first delay lowers the first delay too: the cap is what the caller asked for.
            BackoffInitialMs = Math.Min(spec.BackoffInitialMs, backoffMaxMs),
            NoRestartExitCodes = NoRestartExitCode is null ? spec.NoRestartExitCodes : [.. spec.NoRestartExitCodes.Concat(NoRestartExitCode).Distinct().Order()],
            // The parameter's names are the spec's words, capitalised as PowerShell enumerations are.
            CpuPolicy = CpuPolicy is null ? spec.CpuPolicy
                : string.Equals(CpuPolicy, "Idle", StringComparison.OrdinalIgnoreCase) ? ServiceSpec.CpuPolicyIdle : ServiceSpec.CpuPolicyNormal,
        };
    }

    /// <summary>
    /// After the caller's ShouldProcess: creates the state directory (only now, so -WhatIf creates nothing), starts
    /// <paramref name="spec"/> and waits until it runs, with progress; Ctrl+C stops the wait.
    /// </summary>
    /// <returns>The service's status once it runs; written too with -PassThru unless <paramref name="passThru"/> is false (the caller writes its own).</returns>
    protected ServiceInfo Start(ServiceSpec spec, bool passThru = true) => Start(OpenStateDirectory(), spec, passThru);

    /// <summary>As <see cref="Start(ServiceSpec, bool)"/>, in a state directory the caller opened already.</summary>
    protected ServiceInfo Start(Engine.State.StateDirectory state, ServiceSpec spec, bool passThru = true)
    {
        var manager = new ProcessManager(state);
        var info = PipelineWait.Run(this, $"Starting '{spec.Name}'", (progress, token) => manager.StartAsync(spec, !NoWait, progress, token), CancellationToken);
        // The state directory's scanner watches the new supervisor from now on (started when none runs: issue #22).
        Engine.Services.SupervisionScanner.EnsureRunning(state);
        if (PassThru && passThru)
        {
            WriteObject(info);
        }

        return info;
    }

    /// <summary>
    /// After the caller's ShouldProcess: starts every spec at once in <paramref name="state"/> and waits for all (each
    /// until it runs, or with -NoWait until its supervisor runs), with progress. A service that fails is reported as a
    /// non-terminating error naming it (nothing of it is left running); the others still start. -PassThru writes the
    /// status of each started one, in the order given.
    /// </summary>
    protected void StartMany(Engine.State.StateDirectory state, IReadOnlyList<ServiceSpec> specs)
    {
        var manager = new ProcessManager(state);
        var activity = specs.Count == 1 ? $"Starting '{specs[0].Name}'" : $"Starting {specs.Count} services";
        var outcomes = PipelineWait.Run(this, activity, (progress, token) => manager.StartManyAsync(specs, !NoWait, progress, token), CancellationToken);
        Engine.Services.SupervisionScanner.EnsureRunning(state);
        foreach (var outcome in outcomes)
        {
            if (outcome.Error is { } error)
            {
                WriteStabilityError(error, outcome.Name);
            }
            else if (PassThru)
            {
                WriteObject(outcome.Info);
            }
        }
    }
}
