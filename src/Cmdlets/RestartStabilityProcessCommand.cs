using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Restarts supervised services.</para>
/// <para type="description">A running service is restarted by its supervisor (two-stage stop, then a new process;
/// an open circuit is closed). A stopped, completed, fatal or unknown one is started again from its spec. Takes
/// names from the pipeline by property name, so Get-ProcessStatus output can be piped in.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "StabilityProcess", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class RestartStabilityProcessCommand : ServiceActionCommandBase
{
    /// <summary>The services to restart.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public override string[] Name { get; set; } = [];

    /// <inheritdoc />
    protected override string Action => "Restart";

    /// <inheritdoc />
    protected override string Activity(string name) => $"Restarting '{name}'";

    /// <inheritdoc />
    protected override Task<ServiceInfo> ActAsync(ProcessManager manager, string name, IProgress<string> progress, CancellationToken cancellationToken) =>
        manager.RestartAsync(name, progress, cancellationToken);
}
