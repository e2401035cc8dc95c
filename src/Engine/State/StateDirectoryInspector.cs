using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.State;

/// <summary>
/// Reads every document of a state directory the way any reader would (no locks, size cap, states instead of
/// exceptions) and reports what it found: the basis of <c>Get-StabilityStateDirectory</c>.
/// </summary>
public sealed class StateDirectoryInspector
{
    private readonly StatusStore _store;

    /// <summary>Creates an inspector reading through <paramref name="store"/> (defaults when null).</summary>
    public StateDirectoryInspector(StatusStore? store = null) => _store = store ?? new StatusStore();

    /// <summary>Inspects <paramref name="state"/> without changing anything in it.</summary>
    /// <param name="state">The state directory.</param>
    /// <param name="staleAfter">Documents older than this are reported <see cref="ReadState.Stale"/>; none when null.</param>
    public StateDirectoryReport Inspect(StateDirectory state, TimeSpan? staleAfter = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var trust = state.Trust;
        if (!state.Exists)
        {
            return new StateDirectoryReport(state.Root, false, [], []) { Trust = trust };
        }

        if (!trust.IsTrusted)
        {
            // The verdict is the report: nothing in a directory others can write is worth reading.
            return new StateDirectoryReport(state.Root, true, [], []) { Trust = trust };
        }

        var services = state.ListServices();
        // The documents of the run each service works on (the runs it finished are history, not health).
        var runs = services
            .Select(s => _store.Read<ProcessStatus>(state.ServiceStatusPath(s)).Document?.RunId)
            .OfType<string>().Where(StateDirectory.IsValidRunId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(state.Run).ToList();
        var documents = runs.SelectMany(run => new[]
        {
            Check<TrainingRun>(state, run.RunInfoPath, null),
            Check<TrainingStatus>(state, run.TrainingStatusPath, staleAfter),
            Check<ModelMetrics>(state, run.ModelMetricsPath, staleAfter),
            Check<MarketData>(state, run.MarketDataPath, staleAfter),
        }).ToList();
        documents.Add(Check<ResourceQuotas>(state, state.QuotasPath, null));
        // Every dashboard's own state document; the default one is reported (as missing) even when none wrote it yet.
        var dashboards = state.ListDashboardStates().Select(d => d.Path).ToList();
        if (!dashboards.Contains(state.DashboardStatePath))
        {
            dashboards.Insert(0, state.DashboardStatePath);
        }

        documents.InsertRange(documents.Count - 1, dashboards.Select(path => Check<DashboardState>(state, path, staleAfter)));
        documents.AddRange(services.Select(s => Check<ProcessStatus>(state, state.ServiceStatusPath(s), staleAfter)));
        return new StateDirectoryReport(state.Root, true, services, documents) { Trust = trust };
    }

    private DocumentHealth Check<T>(StateDirectory state, string path, TimeSpan? staleAfter)
        where T : StatusDocument, IStatusSchema
    {
        var result = _store.Read<T>(path, staleAfter);
        var doc = result.Document;
        var name = System.IO.Path.GetRelativePath(state.Root, path).Replace('\\', '/');
        return new DocumentHealth(name, path, result.State, doc?.Schema, doc?.Seq, doc?.WrittenAt, doc?.Writer?.Pid, result.Age, result.Error);
    }
}
