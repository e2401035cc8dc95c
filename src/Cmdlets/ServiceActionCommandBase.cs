using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// The shared body of the cmdlets that act on existing services (Stop-*, Restart-StabilityProcess): names from the
/// parameter or the pipeline, the piped services' own state directory, ShouldProcess per service, one bad name
/// reported without stopping the rest.
/// </summary>
public abstract class ServiceActionCommandBase : StabilityCmdlet
{
    /// <summary>The services to act on.</summary>
    public abstract string[] Name { get; set; }

    /// <summary>The state directory of piped services (their <c>StateRoot</c> property); -StateDirectory wins.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("StateRoot")]
    public string? PipedStateRoot { get; set; }

    /// <summary>Write each service's status when the action is done.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The action as ShouldProcess names it, e.g. <c>Stop</c>.</summary>
    protected abstract string Action { get; }

    /// <summary>The progress activity for <paramref name="name"/>, e.g. <c>Stopping 'training'</c>.</summary>
    protected abstract string Activity(string name);

    /// <summary>The engine call for one service.</summary>
    protected abstract Task<ServiceInfo> ActAsync(ProcessManager manager, string name, IProgress<string> progress, CancellationToken cancellationToken);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        ProcessManager manager;
        try
        {
            manager = new ProcessManager(LocateStateDirectory(PipedStateRoot));
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

                if (!ShouldProcess($"service '{name}' in '{manager.State.Root}'", Action))
                {
                    continue;
                }

                var info = PipelineWait.Run(this, Activity(name), (progress, token) => ActAsync(manager, name, progress, token), CancellationToken);
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
