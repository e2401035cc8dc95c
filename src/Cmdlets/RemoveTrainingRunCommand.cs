using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Removes finished training runs: their folder, checkpoints, model, metrics and record.</para>
/// <para type="description">Deletes runs/&lt;run_id&gt;/ of each run given (by -RunId, or piped from Get-TrainingRun).
/// A run a service works on now (its supervisor is alive and its status names the run) is never removed: that is a
/// RunInUse error, and the other runs are still removed. Supports -WhatIf and -Confirm; asks before each run by
/// default.</para>
/// <example>
///   <code>Get-TrainingRun -State failed | Remove-TrainingRun -Confirm:$false</code>
///   <para>Removes every failed run.</para>
/// </example>
/// <example>
///   <code>Get-TrainingRun -Experiment old-sweep | Remove-TrainingRun -WhatIf</code>
///   <para>Shows which runs of an experiment would go, removing nothing.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TrainingRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveTrainingRunCommand : StabilityCmdlet
{
    /// <summary>The runs to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] RunId { get; set; } = [];

    private Engine.State.StateDirectory? _state;
    private TrainingRuns? _runs;
    private IReadOnlyDictionary<string, Engine.Services.ServiceInfo>? _inUse;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = _state ??= LocateStateDirectory();
        var runs = _runs ??= new TrainingRuns(state);
        // Which service works on which run, read once per call: a pipe of a thousand runs must not read every service's
        // status a thousand times.
        _inUse ??= new Engine.Services.ProcessManager(state).RunsInUse();
        foreach (var id in RunId)
        {
            if (!Engine.State.StateDirectory.IsValidRunId(id) || !Directory.Exists(state.Run(id).Directory))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no run '{id}'. Get-TrainingRun lists the runs."), "RunNotFound", ErrorCategory.ObjectNotFound, id));
                continue;
            }

            if (_inUse.TryGetValue(id, out var user))
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"The run '{id}' is in use by the service '{user.Name}' ({user.State}). Stop it first (Stop-TrainingProcess -Name {user.Name}), then remove the run."),
                    "RunInUse", ErrorCategory.ResourceBusy, id));
                continue;
            }

            var record = runs.Read(id).Document;
            if (!ShouldProcess($"run '{id}' ({record?.Service ?? "unknown service"}, {record?.State ?? RunStates.Created}) in '{state.Root}'", "Remove"))
            {
                continue;
            }

            try
            {
                Directory.Delete(state.Run(id).Directory, recursive: true);
                WriteVerbose($"Removed run '{id}'.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WriteError(new ErrorRecord(new IOException($"Could not remove the run '{id}': {ex.Message}. Fix the permissions and try again; what was not removed is still listed by Get-TrainingRun.", ex),
                    "RunNotRemoved", ErrorCategory.WriteError, id));
            }
        }
    }
}
