using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>The shared body of Stop-TrainingProcess and Stop-Dashboard: they differ only in their default name.</summary>
public abstract class StopServiceCommandBase : StabilityCmdlet
{
    /// <summary>The services to stop.</summary>
    public abstract string[] Name { get; set; }

    /// <summary>Seconds to wait after the graceful signal before the whole tree is killed. Default: the spec's (10).</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? Timeout { get; set; }

    /// <summary>Kill at once, without the graceful signal; also kills a supervisor that does not answer.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The state directory of piped services (their <c>StateRoot</c> property); -StateDirectory wins.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("StateRoot")]
    public string? PipedStateRoot { get; set; }

    /// <summary>Write each service's status when it is stopped.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        ProcessManager manager;
        try
        {
            manager = new ProcessManager(Engine.State.StateDirectory.Locate(StateDirectory is null && PipedStateRoot is not null ? PipedStateRoot : ResolvedStateDirectory));
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

                if (!ShouldProcess($"service '{name}' in '{manager.State.Root}'", Force ? "Stop (kill at once)" : "Stop"))
                {
                    continue;
                }

                TimeSpan? timeout = Timeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
                var info = PipelineWait.Run(this, $"Stopping '{name}'", (progress, token) => manager.StopAsync(name, timeout, Force, progress, token), CancellationToken);
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
