using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>The shared body of Stop-TrainingProcess and Stop-Dashboard: they differ only in their default name.</summary>
public abstract class StopServiceCommandBase : ServiceActionCommandBase
{
    /// <summary>Seconds to wait after the graceful signal before the whole tree is killed. Default: the spec's (10).</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? Timeout { get; set; }

    /// <summary>Kill at once, without the graceful signal; also kills a supervisor that does not answer.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override string Action => Force ? "Stop (kill at once)" : "Stop";

    /// <inheritdoc />
    protected override string Activity(string name) => $"Stopping '{name}'";

    /// <inheritdoc />
    protected override Task<ServiceInfo> ActAsync(ProcessManager manager, string name, IProgress<string> progress, CancellationToken cancellationToken) =>
        manager.StopAsync(name, Timeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null, Force, progress, cancellationToken);
}
