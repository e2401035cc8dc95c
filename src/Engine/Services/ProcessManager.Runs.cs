using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

// Training runs (issue #17): a start of a trainer works on a run of its own, recorded before the supervisor launches.
public sealed partial class ProcessManager
{
    /// <summary>
    /// For a trainer: the run this start works on — the spec's (a resume, <c>-RunId</c>/<c>-Resume</c>) or a new one —
    /// with its folder and <c>run.json</c> made, so the run is listed from the moment it is started, whatever program
    /// trains it. Every restart of the service by its supervisor resumes it; only a new start makes another.
    /// </summary>
    private ServiceSpec PrepareRun(ServiceSpec spec)
    {
        if (spec.Kind != ServiceKind.Training)
        {
            return spec;
        }

        var now = _options.TimeProvider.GetUtcNow();
        var run = State.EnsureRun(spec.RunId ?? Engine.State.StateDirectory.NewRunId(now));
        _store.Update<TrainingRun>(run.RunInfoPath, existing => existing is null
            ? new TrainingRun { RunId = run.RunId, Service = spec.Name, Experiment = spec.Experiment, Tags = spec.Tags ?? [], State = RunStates.Created, Created = now }
            : existing with
            {
                Service = spec.Name,
                Experiment = spec.Experiment ?? existing.Experiment,
                Tags = [.. (existing.Tags ?? []).Concat(spec.Tags ?? []).Distinct(StringComparer.Ordinal)],
            });
        return spec with { RunId = run.RunId };
    }
}
