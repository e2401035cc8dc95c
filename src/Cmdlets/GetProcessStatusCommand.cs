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
/// all of them in Rates. events.jsonl is read once per call, whatever the number of services, and only when a rate is
/// first looked at (the default table shows none, so a plain status check never reads it); Rates is null when it cannot be read.</para>
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

    // The rates of each state directory of this call, read from events.jsonl once, and only when something looks at them
    // (the default table does not): a status check stays cheap however long the event log has grown.
    private readonly Dictionary<string, Lazy<IReadOnlyDictionary<string, ServiceRates>?>> _rates = new(StringComparer.Ordinal);

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
                    WriteObject(ProcessManager.WithRates(info, RatesOf(manager)));
                }
                catch (StabilityException ex)
                {
                    WriteStabilityError(ex, name);
                }
            }
        }
    }

    private Lazy<IReadOnlyDictionary<string, ServiceRates>?> RatesOf(ProcessManager manager)
    {
        if (!_rates.TryGetValue(manager.State.Root, out var rates))
        {
            rates = new Lazy<IReadOnlyDictionary<string, ServiceRates>?>(() =>
            {
                try
                {
                    return manager.GetRates();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StabilityException)
                {
                    // Read after this call may have ended (by Format-List, say): no stream to warn on, so Rates is null.
                    return null;
                }
            });
            _rates[manager.State.Root] = rates;
        }

        return rates;
    }
}
