using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Training;

/// <summary>
/// Reads the training run's status and waits for its end, from the state directory alone (any process, any
/// session). The engine side of <c>Get-TrainingStatus</c> and <c>Wait-Training</c>.
/// </summary>
public sealed class TrainingMonitor
{
    /// <summary>The service name a supervisor runs the trainer under.</summary>
    public const string ServiceName = Services.BuiltInServices.TrainingName;

    private readonly StateDirectory _state;
    private readonly StatusStore _store;
    private readonly TrainingRuns _runs;
    private readonly TimeProvider _time;
    private readonly string? _service;
    private readonly string? _runId;

    /// <summary>Creates the monitor over <paramref name="state"/>.</summary>
    /// <param name="state">The state directory (need not exist yet).</param>
    /// <param name="timeProvider">The clock for ages, polling and timeouts. Default: the system clock.</param>
    /// <param name="service">The trainer service whose current run is read; null: the built-in <c>training</c> service's run, else the newest run.</param>
    /// <param name="runId">Read this run, whatever service runs it; overrides <paramref name="service"/> for the documents.</param>
    public TrainingMonitor(StateDirectory state, TimeProvider? timeProvider = null, string? service = null, string? runId = null)
    {
        _state = state;
        _time = timeProvider ?? TimeProvider.System;
        _store = new StatusStore(new StatusStoreOptions { TimeProvider = _time });
        _runs = new TrainingRuns(state, _store);
        _service = service;
        _runId = runId is null ? null : StateDirectory.ValidateRunId(runId);
    }

    /// <summary>The service this monitor judges by: the one given, else the run's own, else <c>training</c>.</summary>
    private string ServiceOf(string? runId) =>
        _service ?? (runId is null ? null : _runs.Read(runId).Document?.Service is { Length: > 0 } owner && StateDirectory.IsValidServiceName(owner) ? owner : null) ?? ServiceName;

    /// <summary>How often <see cref="WaitAsync"/> reads the status. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Reads the status now; never throws for the files' condition.</summary>
    /// <param name="staleAfter">A document older than this is reported Stale. Default: 30 s.</param>
    public TrainingStatusReport GetStatus(TimeSpan? staleAfter = null)
    {
        var runId = _runId ?? (_service is null ? _runs.DefaultRunId() : _runs.CurrentRunOf(_service));
        var read = runId is null
            ? new ReadResult<TrainingStatus>(ReadState.Missing, _state.RunsDirectory, null,
                _service is null ? "No training run yet: start one with Start-TrainingProcess." : $"The service '{_service}' has no training run: start it with Start-TrainingProcess -Name {_service}.", null)
            : _store.Read<TrainingStatus>(_state.Run(runId).TrainingStatusPath, staleAfter ?? Liveness.TrainerStaleAfter);
        var serviceName = ServiceOf(runId);
        var service = _state.Exists ? _store.Read<ProcessStatus>(_state.ServiceStatusPath(serviceName)).Document : null;
        // The service's status speaks for the run only while the service works on that run.
        if (service is not null && runId is not null && service.RunId is { } serviceRun && serviceRun != runId)
        {
            service = null;
        }

        return new TrainingStatusReport(read, service, _time.GetUtcNow()) { RunIdRead = runId, Service = serviceName };
    }

    /// <summary>
    /// Waits until the run completes, reporting each new status through <paramref name="progress"/>.
    /// </summary>
    /// <remarks>
    /// A trainer that reports <c>failed</c> or <c>stopped</c> is only the end when nothing will restart it: its
    /// supervisor is <c>fatal</c> or <c>stopped</c>, or there is no supervisor (a trainer run by hand). While a
    /// supervisor is restarting it, the wait goes on.
    /// </remarks>
    /// <param name="timeout">Give up after this long; null waits until the end or cancellation.</param>
    /// <param name="progress">Receives every status that differs from the previous one.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The final status, state <c>completed</c>.</returns>
    /// <exception cref="TrainingFailedException">Training ended without completing.</exception>
    /// <exception cref="AsyncOperationException">The timeout passed first.</exception>
    /// <exception cref="OperationCanceledException">The wait was cancelled.</exception>
    public async Task<TrainingStatusReport> WaitAsync(TimeSpan? timeout, IProgress<TrainingStatusReport>? progress, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        long lastSeq = -1;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var report = GetStatus();
            var seq = report.Status?.Seq ?? 0;
            if (seq != lastSeq)
            {
                lastSeq = seq;
                progress?.Report(report);
            }

            if (report.TrainerState == TrainerState.Completed)
            {
                return report;
            }

            if (Ended(report) is { } why)
            {
                throw new TrainingFailedException(why, report);
            }

            if (RecordedEnd(report) is { } run)
            {
                return run.State == RunStates.Completed ? report
                    : throw new TrainingFailedException($"Run {run.RunId} ended {run.State}{(run.ErrorMessage is { Length: > 0 } error ? $": {error}" : ".")}", report);
            }

            if (timeout is { } limit && _time.GetElapsedTime(started) >= limit)
            {
                throw new AsyncOperationException("Wait-Training",
                    $"Training did not complete within {limit.TotalSeconds:0.#} s (state {report.State}, epoch {report.Epoch}/{report.TotalEpochs}). Wait longer with -Timeout, or look at Get-TrainingStatus and the training service's log.")
                {
                    Service = report.Service ?? ServiceName,
                    Path = report.Path,
                };
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The run's own record when it says the run ended and no trainer status says otherwise: a program that reports
    /// nothing has only its supervisor's word on its end (recorded in run.json when its service ended).
    /// </summary>
    private TrainingRun? RecordedEnd(TrainingStatusReport report)
    {
        if (report.RunId is not { } runId || !(report.ServiceState == ServiceState.Completed || report.ServiceState is null && report.Status is null))
        {
            return null;
        }

        return _runs.Read(runId).Document is { } run && RunStates.IsFinished(run.State) ? run : null;
    }

    private static string? Ended(TrainingStatusReport report)
    {
        var detail = report.ErrorMessage is { Length: > 0 } error ? $": {error}" : ".";
        switch (report.ServiceState)
        {
            case ServiceState.Fatal:
                return $"The training service is fatal (its supervisor gave up after repeated failures){detail}";
            case ServiceState.Stopped:
                return $"The training service was stopped before the run completed (epoch {report.Epoch}/{report.TotalEpochs}).";
            case null when report.TrainerState == TrainerState.Failed:
                return $"Training failed{detail}";
            case null when report.TrainerState == TrainerState.Stopped:
                return $"Training was stopped before the run completed (epoch {report.Epoch}/{report.TotalEpochs}); starting it again resumes from its checkpoint.";
            default:
                return null;
        }
    }
}
