using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>The shared start of Start-TrainingProcess and Start-Dashboard: they differ only in the spec they build.</summary>
public abstract class StartServiceCommandBase : StabilityCmdlet
{
    /// <summary>Write the service's status when it is running.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// After the caller's ShouldProcess: creates the state directory (only now, so -WhatIf creates nothing), starts
    /// <paramref name="spec"/> and waits until it runs, with progress; Ctrl+C stops the wait.
    /// </summary>
    protected void Start(ServiceSpec spec)
    {
        var manager = new ProcessManager(OpenStateDirectory());
        var info = PipelineWait.Run(this, $"Starting '{spec.Name}'", (progress, token) => manager.StartAsync(spec, progress, token), CancellationToken);
        if (PassThru)
        {
            WriteObject(info);
        }
    }
}
