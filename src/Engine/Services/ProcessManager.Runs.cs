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
        if (spec.CheckpointRetentionRuns is { } keep && spec.RunId is null)
        {
            PruneCheckpoints(spec.Name, keep);
        }

        return spec with { RunId = run.RunId };
    }

    /// <summary>The runs that services work on now (their supervisor alive, or not known to be gone), by run id, with the service.</summary>
    public IReadOnlyDictionary<string, ServiceInfo> RunsInUse()
    {
        var inUse = new Dictionary<string, ServiceInfo>(StringComparer.Ordinal);
        foreach (var status in GetStatuses())
        {
            if (status.RunId is { } runId && !Status.Liveness.IsFinal(status.State) && status.SupervisorPid != 0)
            {
                inUse.TryAdd(runId, status);
            }
        }

        return inUse;
    }

    /// <summary>
    /// A new run of a service with a checkpoint retention: the checkpoints of its older finished runs go, with an event
    /// saying which and how much. A failure to remove some is a warning event, never a failed start.
    /// </summary>
    private void PruneCheckpoints(string service, int keep)
    {
        try
        {
            var pruned = Engine.State.CheckpointRetention.Prune(State, _store, service, keep, RunsInUse().Keys.ToHashSet(StringComparer.Ordinal));
            if (pruned.Count == 0)
            {
                return;
            }

            var bytes = pruned.Sum(p => p.Bytes);
            AppendEvent(service, "checkpoints_pruned", EventSeverity.Info,
                $"Removed the checkpoints of {pruned.Count} older run(s) of '{service}' ({bytes / 1048576.0:0.#} MiB; checkpoint_retention_runs {keep}): {string.Join(", ", pruned.Select(p => p.RunId))}.",
                new Dictionary<string, string>
                {
                    ["runs"] = string.Join(",", pruned.Select(p => p.RunId)),
                    ["files"] = pruned.Sum(p => p.Files).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["bytes"] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            AppendEvent(service, "checkpoints_pruned", EventSeverity.Warning,
                $"Could not remove all old checkpoints of '{service}' (checkpoint_retention_runs {keep}): {ex.Message} Remove them by hand or with Remove-TrainingRun.");
        }
    }
}
