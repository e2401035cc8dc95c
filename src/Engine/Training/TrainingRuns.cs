using System.Collections.Concurrent;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Training;

/// <summary>
/// The runs of a state directory (<c>runs/&lt;run_id&gt;/run.json</c>): listed, filtered, and found for a service. The
/// engine side of <c>Get-TrainingRun</c>, and of every reader that shows "the" run of a service.
/// </summary>
public sealed class TrainingRuns
{
    // Records parsed in this process, by path, with the size and write time they had: a warm session lists a thousand
    // runs by a stat each and parses only the records that changed (a record is replaced whole, so a change moves both).
    private static readonly ConcurrentDictionary<string, (long Length, long WrittenTicks, TrainingRun Run)> Parsed = new(StringComparer.Ordinal);
    private const int ParsedLimit = 100_000;

    private readonly StateDirectory _state;
    private readonly StatusStore _store;

    /// <summary>Creates the catalog over <paramref name="state"/> (need not exist yet).</summary>
    public TrainingRuns(StateDirectory state, StatusStore? store = null)
    {
        _state = state;
        _store = store ?? new StatusStore();
    }

    /// <summary>Reads one run's record.</summary>
    /// <exception cref="ArgumentException">The id is not a valid run id.</exception>
    public ReadResult<TrainingRun> Read(string runId) => _store.Read<TrainingRun>(_state.Run(runId).RunInfoPath);

    /// <summary>Every run with a readable record that passes <paramref name="filter"/>, oldest first (by creation, then id).</summary>
    public IReadOnlyList<TrainingRun> List(RunFilter? filter = null)
    {
        filter ??= new RunFilter();
        var runs = new List<TrainingRun>();
        foreach (var id in _state.ListRunIds())
        {
            if (ReadParsed(id) is { } run && filter.Matches(run))
            {
                runs.Add(run);
            }
        }

        return [.. runs.OrderBy(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal)];
    }

    /// <summary>A run's record, parsed again only when its file changed since this process last read it.</summary>
    private TrainingRun? ReadParsed(string runId)
    {
        var path = _state.Run(runId).RunInfoPath;
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return null;
        }

        var (length, written) = (file.Length, file.LastWriteTimeUtc.Ticks);
        if (Parsed.TryGetValue(path, out var seen) && seen.Length == length && seen.WrittenTicks == written)
        {
            return seen.Run;
        }

        var run = Read(runId).Document;
        if (run is not null)
        {
            if (Parsed.Count >= ParsedLimit)
            {
                Parsed.Clear();
            }

            Parsed[path] = (length, written, run);
        }

        return run;
    }

    /// <summary>
    /// The run service <paramref name="service"/> works on now: the one its status names, else its spec's. Null when the
    /// service has none (never started, or not a trainer).
    /// </summary>
    public string? CurrentRunOf(string service)
    {
        if (!StateDirectory.IsValidServiceName(service))
        {
            return null;
        }

        return _store.Read<ProcessStatus>(_state.ServiceStatusPath(service)).Document?.RunId is { } running && StateDirectory.IsValidRunId(running)
            ? running
            : _store.Read<ServiceSpec>(_state.ServiceSpecPath(service)).Document?.RunId is { } specified && StateDirectory.IsValidRunId(specified) ? specified : null;
    }

    /// <summary>The newest run of <paramref name="service"/> (by creation), for <c>-Resume</c>; null when it has none.</summary>
    public TrainingRun? LastRunOf(string service) => List(new RunFilter { Service = service }).LastOrDefault();

    /// <summary>
    /// The run a reader without a choice shows: the built-in training service's, else the most recently created folder
    /// of <c>runs/</c> (a stat per run, no reads). Null when there is no run.
    /// </summary>
    public string? DefaultRunId()
    {
        if (CurrentRunOf(BuiltInServices.TrainingName) is { } current)
        {
            return current;
        }

        string? newest = null;
        var newestTime = DateTime.MinValue;
        foreach (var id in _state.ListRunIds())
        {
            var created = Directory.GetCreationTimeUtc(_state.Run(id).Directory);
            if (created >= newestTime)
            {
                (newest, newestTime) = (id, created);
            }
        }

        return newest;
    }
}

/// <summary>Which runs <see cref="TrainingRuns.List"/> returns; every criterion given must match.</summary>
public sealed record RunFilter
{
    /// <summary>Runs of this service; null for any.</summary>
    public string? Service { get; init; }

    /// <summary>Runs of this experiment; null for any.</summary>
    public string? Experiment { get; init; }

    /// <summary>Runs in this state (<see cref="RunStates"/>); null for any.</summary>
    public string? State { get; init; }

    /// <summary>Runs created at or after this time; null for any.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Runs carrying every one of these tags; empty for any.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>True when <paramref name="run"/> passes.</summary>
    public bool Matches(TrainingRun run) =>
        (Service is null || string.Equals(run.Service, Service, StringComparison.Ordinal))
        && (Experiment is null || string.Equals(run.Experiment, Experiment, StringComparison.OrdinalIgnoreCase))
        && (State is null || string.Equals(run.State, State, StringComparison.OrdinalIgnoreCase))
        && (Since is null || run.Created >= Since)
        && Tags.All(t => (run.Tags ?? []).Contains(t, StringComparer.OrdinalIgnoreCase));
}
