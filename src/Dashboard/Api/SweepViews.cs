using System.Text.Json;
using StabilityTools.Dashboard.Data;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Sweeps;

namespace StabilityTools.Dashboard.Api;

/// <summary>One sweep as the runs page shows it: progress counts, the best trial so far and each trial's state.</summary>
internal sealed record SweepView(
    string Name,
    string State,
    string? ControllerState,
    string Metric,
    string Goal,
    int Total,
    int Completed,
    int Running,
    int Pending,
    int Pruned,
    int Failed,
    int Stopped,
    SweepTrialView? Best,
    IReadOnlyList<SweepTrialView> Trials);

/// <summary>One trial of a sweep: its service, state, run, best value of the sweep's metric, and settings.</summary>
internal sealed record SweepTrialView(int Index, string Service, string State, string? RunId, double? Value, int Epochs, IReadOnlyDictionary<string, JsonElement> Parameters);

/// <summary><c>/api/sweeps</c>.</summary>
internal sealed record SweepsView(DateTimeOffset ServerTime, IReadOnlyList<SweepView> Sweeps);

/// <summary>
/// Builds <c>/api/sweeps</c> from each sweep's <c>plan.json</c> and <c>progress.json</c>, read as they are (the dashboard
/// writes nothing of a sweep), and its controller's status from the processes the dashboard already watches.
/// </summary>
internal sealed class SweepViews(DashboardData data, DashboardViews views)
{
    private readonly StatusStore _store = new();

    public SweepsView List()
    {
        var processes = views.Processes().Services.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var sweeps = new List<SweepView>();
        foreach (var name in data.State.ListSweeps())
        {
            if (_store.Read<SweepPlan>(data.State.SweepPlanPath(name)).Document is not { } plan)
            {
                continue; // Being written, or damaged: Get-TrainingSweep names the problem; the page shows the rest.
            }

            var progress = TrainingSweeps.ReadProgress(data.State, _store, name) ?? TrainingSweeps.FreshProgress(plan);
            var info = SweepInfo.From(data.State.Root, plan, progress, controller: null);
            var controller = processes.GetValueOrDefault(SweepPlan.ControllerName(name))?.State;
            // Recorded running while no controller runs: a controller killed for good, or one never started.
            var state = progress.State == SweepStates.Running && controller is not ("running" or "starting" or "backoff") ? "interrupted" : progress.State;
            var trials = progress.Trials.Select(t => new SweepTrialView(t.Index, t.Service, t.State, t.RunId, t.Value, t.Epochs, plan.Trials[t.Index - 1].Parameters)).ToList();
            sweeps.Add(new SweepView(name, state, controller, plan.Metric, plan.Goal, info.Total, info.Completed, info.Running, info.Pending, info.Pruned, info.Failed,
                info.Stopped, info.Best is { } best ? trials[best.Index - 1] : null, trials));
        }

        return new SweepsView(data.Time.GetUtcNow(), sweeps);
    }
}
