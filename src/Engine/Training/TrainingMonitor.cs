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
    private readonly SharedDataManager _shared;
    private readonly TimeProvider _time;

    /// <summary>Creates the monitor over <paramref name="state"/>.</summary>
    /// <param name="state">The state directory (need not exist yet).</param>
    /// <param name="timeProvider">The clock for ages, polling and timeouts. Default: the system clock.</param>
    public TrainingMonitor(StateDirectory state, TimeProvider? timeProvider = null)
    {
        _state = state;
        _time = timeProvider ?? TimeProvider.System;
        _shared = new SharedDataManager(state, new StatusStoreOptions { TimeProvider = _time });
    }

    /// <summary>How often <see cref="WaitAsync"/> reads the status. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Reads the status now; never throws for the files' condition.</summary>
    /// <param name="staleAfter">A document older than this is reported Stale. Default: 30 s.</param>
    public TrainingStatusReport GetStatus(TimeSpan? staleAfter = null)
    {
        var read = _shared.ReadTrainingStatus(staleAfter ?? Liveness.TrainerStaleAfter);
        var service = _state.Exists ? _shared.ReadProcessStatus(ServiceName).Document : null;
        return new TrainingStatusReport(read, service, _time.GetUtcNow());
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

            if (report.State == "completed")
            {
                return report;
            }

            if (Ended(report) is { } why)
            {
                throw new TrainingFailedException(why, report);
            }

            if (timeout is { } limit && _time.GetElapsedTime(started) >= limit)
            {
                throw new AsyncOperationException("Wait-Training",
                    $"Training did not complete within {limit.TotalSeconds:0.#} s (state {report.State}, epoch {report.Epoch}/{report.TotalEpochs}). Wait longer with -Timeout, or look at Get-TrainingStatus and the training service's log.")
                {
                    Service = ServiceName,
                    Path = report.Path,
                };
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
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
            case null when report.State == "failed":
                return $"Training failed{detail}";
            case null when report.State == "stopped":
                return $"Training was stopped before the run completed (epoch {report.Epoch}/{report.TotalEpochs}); starting it again resumes from its checkpoint.";
            default:
                return null;
        }
    }
}
