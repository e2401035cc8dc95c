using System.Management.Automation;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the training run's status: epoch, loss, accuracy, throughput, ETA, heartbeat age and state.</para>
/// <para type="description">Reads data/training_status.json (and the training service's status, when a supervisor runs
/// the trainer) without locking or changing anything. A missing or damaged file is reported in the ReadState
/// property, not as an error.</para>
/// <example>
///   <code>Get-TrainingStatus</code>
///   <para>Shows the current run: state, epoch/total, loss, accuracy, samples/s, ETA and heartbeat age.</para>
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

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var state = LocateStateDirectory();
        WriteVerbose($"Reading the training status in '{state.Root}'.");
        WriteObject(new TrainingMonitor(state).GetStatus(TimeSpan.FromSeconds(StaleAfterSeconds)));
    }
}
