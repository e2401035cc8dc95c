using System.Management.Automation;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Waits for the training run to complete, showing a progress bar over its epochs.</para>
/// <para type="description">Returns the final status when the run completes. A run that fails, is stopped, or whose
/// supervisor gives up (fatal) is a terminating error (TrainingFailed, TrainingStopped, TrainingFatal), and so is
/// the timeout (AsyncOperationError), so a CI smoke check fails properly. While a supervisor restarts a crashed
/// trainer, the wait goes on. Ctrl+C stops waiting (training goes on).</para>
/// <example>
///   <code>Wait-Training -Timeout 600</code>
///   <para>Waits up to ten minutes with a progress bar and returns the final status.</para>
/// </example>
/// <example>
///   <code>Wait-Training -Name exp-a -Timeout 600</code>
///   <para>Waits for the run the service exp-a works on.</para>
/// </example>
/// <example>
///   <code>'lr-1','lr-2','lr-3' | Start-TrainingProcess -Experiment lr-sweep; Wait-Training -Experiment lr-sweep -Timeout 3600 -ErrorAction Stop</code>
///   <para>Waits for every run of a sweep at once, one progress bar each; returns the completed runs' final statuses
///   and fails if any run failed, was stopped or went fatal.</para>
/// </example>
/// <example>
///   <code>Start-TrainingProcess; Wait-Training -Timeout 120 -ErrorAction Stop | Format-List</code>
///   <para>A CI smoke check: fails the script unless training completes within two minutes.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Training", DefaultParameterSetName = ServiceSet)]
[OutputType(typeof(TrainingStatusReport))]
public sealed class WaitTrainingCommand : StabilityCmdlet
{
    private const int ActivityId = 7400;
    private const string ServiceSet = "Service";
    private const string ExperimentSet = "Experiment";

    /// <summary>Seconds to wait before giving up. Default: no limit.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>Wait for the run of this trainer service. Default: the <c>training</c> service's run, else the newest run.</summary>
    [Parameter(ParameterSetName = ServiceSet)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Wait for this run, whatever service runs it.</summary>
    [Parameter(ParameterSetName = ServiceSet)]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <summary>
    /// Wait for every run of this experiment at once: the last run of each service that worked on it. The completed
    /// runs' statuses are returned when all have ended; each run that did not complete is an error of its own.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ExperimentSet)]
    [ValidateNotNullOrEmpty]
    public string? Experiment { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var state = LocateStateDirectory();
        if (Experiment is not null)
        {
            WaitForExperiment(state, Experiment);
            return;
        }

        TrainingMonitor monitor;
        try
        {
            monitor = new TrainingMonitor(state, service: Name, runId: RunId);
        }
        catch (ArgumentException ex)
        {
            ThrowStabilityError(ex, RunId ?? Name ?? "");
            return;
        }
        TimeSpan? timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null;
        try
        {
            var final = BackgroundPump.Run<TrainingStatusReport, TrainingStatusReport>(
                (progress, token) => monitor.WaitAsync(timeout, progress, token), report => WriteProgress(Progress(report)), null, CancellationToken);
            WriteProgress(Completed());
            WriteObject(final);
        }
        catch (Exception ex) when (ex is TrainingFailedException or Engine.Errors.StabilityException or OperationCanceledException)
        {
            WriteProgress(Completed());
            ThrowStabilityError(ex, state.RunsDirectory);
        }
    }

    private void WaitForExperiment(Engine.State.StateDirectory state, string experiment)
    {
        var wait = new ExperimentWait(state);
        var runs = wait.RunsOf(experiment);
        if (runs.Count == 0)
        {
            ThrowTerminatingError(new ErrorRecord(new ItemNotFoundException(
                $"No run of experiment '{experiment}' in '{state.Root}'. Start some with Start-TrainingProcess -Experiment {experiment}; Get-TrainingRun lists the runs there are."),
                "ExperimentNotFound", ErrorCategory.ObjectNotFound, experiment));
            return;
        }

        var ids = runs.Select(r => r.RunId).ToList();
        var ended = new HashSet<string>(StringComparer.Ordinal);
        TimeSpan? timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null;
        IReadOnlyList<RunOutcome> outcomes;
        try
        {
            outcomes = BackgroundPump.Run<RunProgress, IReadOnlyList<RunOutcome>>(
                (progress, token) => wait.WaitAsync(ids, timeout, progress, token),
                item =>
                {
                    if (item.Ended)
                    {
                        ended.Add(ids[item.Index]);
                    }

                    WriteProgress(new ProgressRecord(ActivityId, $"Experiment {experiment}", $"{ended.Count} of {ids.Count} runs ended")
                    {
                        PercentComplete = 100 * ended.Count / ids.Count,
                    });
                    var child = Progress(item.Report, ActivityId + 1 + item.Index);
                    child.ParentActivityId = ActivityId;
                    child.RecordType = item.Ended ? ProgressRecordType.Completed : ProgressRecordType.Processing;
                    WriteProgress(child);
                },
                null, CancellationToken);
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or OperationCanceledException)
        {
            WriteProgress(Completed());
            ThrowStabilityError(ex, experiment);
            return;
        }

        WriteProgress(Completed());
        foreach (var outcome in outcomes)
        {
            if (outcome.Failure is { } failure)
            {
                WriteStabilityError(failure, outcome.RunId);
            }
            else
            {
                WriteObject(outcome.Report);
            }
        }
    }

    private static ProgressRecord Completed() => new(ActivityId, "Training", "Done.") { RecordType = ProgressRecordType.Completed };

    private static ProgressRecord Progress(TrainingStatusReport report, int activityId = ActivityId)
    {
        var run = report.RunId is { } id ? $"Run {id}: " : "";
        var accuracy = report.Accuracy is { } a ? $", accuracy {a:P1}" : "";
        var loss = report.Loss is { } l ? $", loss {l:0.0000}" : "";
        var record = new ProgressRecord(activityId, "Training", $"{run}Epoch {report.Epoch}/{report.TotalEpochs}{loss}{accuracy} ({report.State})")
        {
            PercentComplete = (int)Math.Round(report.PercentComplete * 100),
        };
        if (report.Eta is { } eta)
        {
            record.SecondsRemaining = (int)eta.TotalSeconds;
        }

        return record;
    }
}
