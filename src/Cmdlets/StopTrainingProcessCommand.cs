using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Stops the training process and its supervisor.</para>
/// <para type="description">Asks the service's supervisor to stop it: SIGTERM to its process group, a bounded wait
/// (-Timeout, default 10 s), then a kill of the whole process tree, grandchildren included. Nothing of the service
/// survives. A service whose supervisor is gone is killed directly. Stopping a stopped service succeeds.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "TrainingProcess", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class StopTrainingProcessCommand : StopServiceCommandBase
{
    /// <summary>The services to stop. Default <c>training</c>.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public override string[] Name { get; set; } = [BuiltInServices.TrainingName];
}
