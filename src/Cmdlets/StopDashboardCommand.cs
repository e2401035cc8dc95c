using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Stops the dashboard and its supervisor.</para>
/// <para type="description">Asks the dashboard's supervisor to stop it (SIGTERM, a bounded wait of -Timeout seconds,
/// default 10, then a kill of the whole tree). Training is not touched.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Dashboard", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class StopDashboardCommand : StopServiceCommandBase
{
    /// <summary>The services to stop. Default <c>dashboard</c>.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public override string[] Name { get; set; } = [BuiltInServices.DashboardName];
}
