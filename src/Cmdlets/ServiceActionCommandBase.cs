using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// The shared body of the cmdlets that act on existing services (Stop-*, Restart-StabilityProcess): names from the
/// parameter or the pipeline, the piped services' own state directory, ShouldProcess per service, one bad name
/// reported without stopping the rest. The actions run all at once when the input ends (<c>Get-ProcessStatus |
/// Stop-TrainingProcess</c> stops every service together, not one after another).
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

    private readonly List<(ProcessManager Manager, string Name)> _accepted = [];

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        ProcessManager manager;
        try
        {
            var state = LocateStateDirectory(PipedStateRoot);
            manager = _accepted.Select(a => a.Manager).FirstOrDefault(m => m.State.Root == state.Root) ?? new ProcessManager(state);
        }
        catch (StabilityException ex)
        {
            ThrowStabilityError(ex, StateDirectory);
            return;
        }

        // Each name is judged and confirmed here, as it arrives; the actions all run together once the input is done.
        foreach (var name in Name)
        {
            if (_accepted.Contains((manager, name)))
            {
                continue;
            }

            try
            {
                if (!manager.Exists(name))
                {
                    throw new ServiceNotFoundException(name, manager.State.Root);
                }

                if (ShouldProcess($"service '{name}' in '{manager.State.Root}'", Action))
                {
                    _accepted.Add((manager, name));
                }
            }
            catch (Exception ex) when (ex is StabilityException or ArgumentException)
            {
                WriteStabilityError(ex, name);
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        foreach (var group in _accepted.GroupBy(a => a.Manager))
        {
            var names = group.Select(a => a.Name).ToList();
            var activity = names.Count == 1 ? Activity(names[0]) : $"{Action}: {names.Count} services";
            IReadOnlyList<ServiceOutcome> outcomes;
            try
            {
                outcomes = PipelineWait.Run(this, activity,
                    (progress, token) => group.Key.ForEachServiceAsync(names, (manager, name) => ActAsync(manager, name, progress, token), token), CancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }

            foreach (var outcome in outcomes)
            {
                if (outcome.Error is { } error)
                {
                    WriteStabilityError(error, outcome.Name);
                }
                else if (PassThru)
                {
                    WriteObject(outcome.Info);
                }
            }
        }
    }
}
