using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the status of supervised services.</para>
/// <para type="description">Reads each service's status.json as its supervisor last wrote it (no locks, no waiting)
/// and judges it now: a service whose supervisor is gone, or has missed three of its heartbeats (15 s at the default 5 s interval), shows as Unknown.
/// Works from any session: what one session started, another sees.</para>
/// <para type="description">Each object also carries its rates from events.jsonl: restarts, failures, hangs and limit
/// events over the last hour, 24 hours and 7 days, and whether each is rising or falling (the last hour against the
/// hour before): RestartsLastHour, RestartsLast24Hours, RestartsLast7Days, RestartsTrend, the same for Failures, and
/// all of them in Rates. events.jsonl is read once per call, whatever the number of services.</para>
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

    // The rates of each state directory this call has read: events.jsonl once per call, not once per service or input.
    private readonly Dictionary<string, IReadOnlyDictionary<string, ServiceRates>?> _rates = new(StringComparer.Ordinal);

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
                    var info = manager.GetStatus(name);
                    WriteObject(RatesOf(manager) is { } rates ? ProcessManager.WithRates(info, rates) : info);
                }
                catch (StabilityException ex)
                {
                    WriteStabilityError(ex, name);
                }
            }
        }
    }

    private IReadOnlyDictionary<string, ServiceRates>? RatesOf(ProcessManager manager)
    {
        if (!_rates.TryGetValue(manager.State.Root, out var rates))
        {
            try
            {
                rates = manager.GetRates();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The status is worth having without the rates: say why they are missing instead of failing.
                WriteWarning($"The rates are missing (Rates is null): events.jsonl in '{manager.State.Root}' cannot be read: {ex.Message}");
                rates = null;
            }

            _rates[manager.State.Root] = rates;
        }

        return rates;
    }
}
