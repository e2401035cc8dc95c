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
///   <code>Start-TrainingProcess; Wait-Training -Timeout 120 -ErrorAction Stop | Format-List</code>
///   <para>A CI smoke check: fails the script unless training completes within two minutes.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Training")]
[OutputType(typeof(TrainingStatusReport))]
public sealed class WaitTrainingCommand : StabilityCmdlet
{
    private const int ActivityId = 7400;

    /// <summary>Seconds to wait before giving up. Default: no limit.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>Wait for the run of this trainer service. Default: the <c>training</c> service's run, else the newest run.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Wait for this run, whatever service runs it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var state = LocateStateDirectory();
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

    private static ProgressRecord Completed() => new(ActivityId, "Training", "Done.") { RecordType = ProgressRecordType.Completed };

    private static ProgressRecord Progress(TrainingStatusReport report)
    {
        var accuracy = report.Accuracy is { } a ? $", accuracy {a:P1}" : "";
        var loss = report.Loss is { } l ? $", loss {l:0.0000}" : "";
        var record = new ProgressRecord(ActivityId, "Training", $"Epoch {report.Epoch}/{report.TotalEpochs}{loss}{accuracy} ({report.State})")
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
