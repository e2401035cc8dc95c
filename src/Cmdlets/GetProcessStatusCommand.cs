using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the status of supervised services.</para>
/// <para type="description">Reads each service's status.json as its supervisor last wrote it (no locks, no waiting)
/// and judges it now: a service whose supervisor is gone, or has missed three of its heartbeats (15 s at the default 5 s interval), shows as Unknown.
/// Works from any session: what one session started, another sees.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ProcessStatus")]
[OutputType(typeof(ServiceInfo))]
public sealed class GetProcessStatusCommand : StabilityCmdlet
{
    /// <summary>Service names; wildcards allowed. Default: every service.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = ["*"];

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var manager = new ProcessManager(LocateStateDirectory());
        IReadOnlyList<string> names;
        try
        {
            names = manager.ListServices();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowStabilityError(new StateDirectoryException(manager.State.Root, $"The state directory '{manager.State.Root}' cannot be read: {ex.Message}", ex), manager.State.Root);
            return;
        }

        foreach (var requested in Name)
        {
            var pattern = WildcardPattern.Get(requested, WildcardOptions.IgnoreCase);
            var matched = names.Where(pattern.IsMatch).ToList();
            if (matched.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(requested))
            {
                WriteStabilityError(new ServiceNotFoundException(requested, manager.State.Root), requested);
                continue;
            }

            foreach (var name in matched)
            {
                try
                {
                    WriteObject(manager.GetStatus(name));
                }
                catch (StabilityException ex)
                {
                    WriteStabilityError(ex, name);
                }
            }
        }
    }
}
