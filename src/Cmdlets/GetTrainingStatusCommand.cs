using System.Management.Automation;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the training run's status: epoch, loss, accuracy, throughput, ETA, heartbeat age and state.</para>
/// <para type="description">Reads the run's training_status.json (runs/&lt;run_id&gt;/; and the trainer service's status, when
/// a supervisor runs the trainer) without locking or changing anything. Without -Name or -RunId it reads the run of the
/// built-in training service, else the newest run. A missing or damaged file is reported in the ReadState property, not
/// as an error.</para>
/// <example>
///   <code>Get-TrainingStatus</code>
///   <para>Shows the current run: state, epoch/total, loss, accuracy, samples/s, ETA and heartbeat age.</para>
/// </example>
/// <example>
///   <code>Get-TrainingStatus -Name exp-a</code>
///   <para>Shows the run the service exp-a works on.</para>
/// </example>
/// <example>
///   <code>Get-TrainingStatus -StateDirectory ./state | Select-Object -ExpandProperty Status</code>
///   <para>Shows every field of the trainer's status document.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TrainingStatus")]
[OutputType(typeof(TrainingStatusReport))]
public sealed class GetTrainingStatusCommand : StabilityCmdlet
{
    /// <summary>A status older than this many seconds is reported Stale. Default 30.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int StaleAfterSeconds { get; set; } = 30;

    /// <summary>The trainer service whose run to read. Default: the <c>training</c> service's run, else the newest run.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Read this run, whatever service runs it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var state = LocateStateDirectory();
        WriteVerbose($"Reading the training status in '{state.Root}'.");
        try
        {
            WriteObject(new TrainingMonitor(state, service: Name, runId: RunId).GetStatus(TimeSpan.FromSeconds(StaleAfterSeconds)));
        }
        catch (ArgumentException ex)
        {
            ThrowStabilityError(ex, RunId ?? Name ?? "");
        }
    }
}
