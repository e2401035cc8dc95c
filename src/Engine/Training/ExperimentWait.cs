using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Training;

/// <summary>How one run of a wait over several ended: its last status, and why it did not complete when it did not.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Report">Its last status.</param>
/// <param name="Failure">Why it ended without completing; null when it completed.</param>
public sealed record RunOutcome(string RunId, TrainingStatusReport Report, TrainingFailedException? Failure)
{
    /// <summary>True when the run completed.</summary>
    public bool Completed => Failure is null;
}

/// <summary>One run's new status during a wait over several.</summary>
/// <param name="Index">The run's position in the list waited for.</param>
/// <param name="Report">Its status.</param>
/// <param name="Ended">True for its last report: the run's wait is over.</param>
public sealed record RunProgress(int Index, TrainingStatusReport Report, bool Ended);

/// <summary>
/// Waits for every run of an experiment at once (<c>Wait-Training -Experiment</c>): the last run of each service that
/// worked on it, so a sweep that was started again is judged by its new runs, not the ones it replaced. Each run is
/// judged by the same rules as a single <see cref="TrainingMonitor.WaitAsync"/>; one failing does not end the wait for
/// the others.
/// </summary>
public sealed class ExperimentWait
{
    private readonly StateDirectory _state;
    private readonly TimeProvider _time;

    /// <summary>Creates the wait over <paramref name="state"/>.</summary>
    public ExperimentWait(StateDirectory state, TimeProvider? timeProvider = null)
    {
        _state = state;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How often each run's status is read. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The runs a wait for <paramref name="experiment"/> covers: the newest run of each service in it, oldest first.</summary>
    public IReadOnlyList<TrainingRun> RunsOf(string experiment) =>
        [.. new TrainingRuns(_state).List(new RunFilter { Experiment = experiment })
            .GroupBy(r => r.Service, StringComparer.Ordinal)
            .Select(g => g.Last())
            .OrderBy(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal)];

    /// <summary>Waits until every run in <paramref name="runIds"/> has ended, reporting each run's new statuses.</summary>
    /// <param name="runIds">The runs.</param>
    /// <param name="timeout">Give up after this long; null waits until all end or cancellation.</param>
    /// <param name="progress">Receives every status that differs from that run's previous one, and each run's last.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>How each run ended, in the order given.</returns>
    /// <exception cref="AsyncOperationException">The timeout passed before every run ended; it names those still going.</exception>
    /// <exception cref="OperationCanceledException">The wait was cancelled.</exception>
    public async Task<IReadOnlyList<RunOutcome>> WaitAsync(IReadOnlyList<string> runIds, TimeSpan? timeout, IProgress<RunProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        using var deadline = timeout is { } limit ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var latest = new TrainingStatusReport?[runIds.Count];
        var waits = runIds.Select((runId, i) => WaitOneAsync(runId, i, latest, progress, either.Token)).ToArray();
        try
        {
            return await Task.WhenAll(waits).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var going = Enumerable.Range(0, runIds.Count).Where(i => !waits[i].IsCompletedSuccessfully)
                .Select(i => $"{runIds[i]} ({Describe(latest[i])})").ToList();
            throw new AsyncOperationException("Wait-Training",
                $"{going.Count} of {runIds.Count} runs did not end within {timeout!.Value.TotalSeconds:0.#} s: {string.Join(", ", going)}. Wait longer with -Timeout, or look at Get-TrainingRun and the services' logs.");
        }
    }

    private async Task<RunOutcome> WaitOneAsync(string runId, int index, TrainingStatusReport?[] latest, IProgress<RunProgress>? progress, CancellationToken cancellationToken)
    {
        var monitor = new TrainingMonitor(_state, _time, runId: runId) { PollInterval = PollInterval };
        var relay = new Relay(report =>
        {
            latest[index] = report;
            progress?.Report(new RunProgress(index, report, Ended: false));
        });
        RunOutcome outcome;
        try
        {
            outcome = new RunOutcome(runId, await monitor.WaitAsync(null, relay, cancellationToken).ConfigureAwait(false), null);
        }
        catch (TrainingFailedException ex)
        {
            outcome = new RunOutcome(runId, ex.Report, ex);
        }

        progress?.Report(new RunProgress(index, outcome.Report, Ended: true));
        return outcome;
    }

    private static string Describe(TrainingStatusReport? report) =>
        report is null ? "no status yet" : $"{report.State}, epoch {report.Epoch}/{report.TotalEpochs}";

    private sealed class Relay(Action<TrainingStatusReport> report) : IProgress<TrainingStatusReport>
    {
        public void Report(TrainingStatusReport value) => report(value);
    }
}
