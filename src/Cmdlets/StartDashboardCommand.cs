using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Starts the web dashboard under its own supervisor.</para>
/// <para type="description">Launches a detached supervisor that runs the dashboard at low priority with every GPU
/// hidden, probes its /healthz, restarts it whenever it fails (policy always) and waits until it answers. When the
/// port is taken the start fails with a ResourceConflict error and nothing is left running.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Dashboard", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class StartDashboardCommand : StartServiceCommandBase
{
    /// <summary>The service name. Default <c>dashboard</c>.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = BuiltInServices.DashboardName;

    /// <summary>The TCP port. Default 8050.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = BuiltInServices.DefaultPort;

    /// <summary>The address to listen on. Default 127.0.0.1 (this machine only).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            // Only located here: -WhatIf must not even create the state directory.
            var state = LocateStateDirectory();
            var spec = WithRestartOptions(BuiltInServices.Dashboard(state, Name, BindAddress, Port)).Validate();
            if (!ShouldProcess($"service '{Name}' (dashboard on http://{BindAddress}:{Port}) in '{state.Root}'", "Start"))
            {
                return;
            }

            Start(spec);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, Name);
        }
    }
}
