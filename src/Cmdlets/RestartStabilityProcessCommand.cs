using System.Management.Automation;
using StabilityTools.Engine.Errors;
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
public sealed class RestartStabilityProcessCommand : StabilityCmdlet
{
    /// <summary>The services to restart.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The state directory of piped services (their <c>StateRoot</c> property); -StateDirectory wins.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("StateRoot")]
    public string? PipedStateRoot { get; set; }

    /// <summary>Write each service's status when it runs again.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        ProcessManager manager;
        try
        {
            var root = StateDirectory is null && PipedStateRoot is not null ? PipedStateRoot : ResolvedStateDirectory;
            manager = new ProcessManager(Engine.State.StateDirectory.Locate(root));
        }
        catch (StabilityException ex)
        {
            ThrowStabilityError(ex, StateDirectory);
            return;
        }

        foreach (var name in Name)
        {
            try
            {
                if (!manager.Exists(name))
                {
                    throw new ServiceNotFoundException(name, manager.State.Root);
                }

                if (!ShouldProcess($"service '{name}' in '{manager.State.Root}'", "Restart"))
                {
                    continue;
                }

                var info = PipelineWait.Run(this, $"Restarting '{name}'", (progress, token) => manager.RestartAsync(name, progress, token), CancellationToken);
                if (PassThru)
                {
                    WriteObject(info);
                }
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
            catch (Exception ex) when (ex is StabilityException or ArgumentException)
            {
                WriteStabilityError(ex, name);
            }
        }
    }
}
