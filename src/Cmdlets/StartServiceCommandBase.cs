using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>The shared start of Start-TrainingProcess and Start-Dashboard: they differ only in the spec they build.</summary>
public abstract class StartServiceCommandBase : StabilityCmdlet
{
    /// <summary>Write the service's status when it is running.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

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

    /// <summary>Applies -CircuitMaxRestarts, -CircuitWindowSeconds, -BackoffMaxSeconds and -NoRestartExitCode to <paramref name="spec"/>; the caller validates.</summary>
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
        var info = PipelineWait.Run(this, $"Starting '{spec.Name}'", (progress, token) => manager.StartAsync(spec, progress, token), CancellationToken);
        if (PassThru && passThru)
        {
            WriteObject(info);
        }

        return info;
    }
}
