using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Shows the machine's GPUs and memory and each service's use against its quotas and limits.</para>
/// <para type="description">Discovers GPUs through NVML, else nvidia-smi, else reports none; joins each service's sampled
/// CPU, memory and GPU memory (from its supervisor) with its quotas, limits and GPU allocation.</para>
/// <para type="description">With -History, returns one service's CPU, memory and GPU memory over time instead, from its
/// system_metrics.jsonl (a point a heartbeat while it runs, older points merged): its current run's, or -RunId's.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ResourceUsage", DefaultParameterSetName = ReportSet)]
[OutputType(typeof(ResourceUsageReport), ParameterSetName = [ReportSet])]
[OutputType(typeof(SystemMetricsPoint), ParameterSetName = [HistorySet])]
public sealed class GetResourceUsageCommand : StabilityCmdlet
{
    private const string ReportSet = "Report";
    private const string HistorySet = "History";

    /// <summary>Return the service's metrics over time (SystemMetricsPoint objects, oldest first) instead of the report.</summary>
    [Parameter(Mandatory = true, ParameterSetName = HistorySet)]
    public SwitchParameter History { get; set; }

    /// <summary>The service whose history to return (alias Service, so runs from Get-TrainingRun pipe it).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = HistorySet, ValueFromPipelineByPropertyName = true)]
    [Alias("Service")]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The run whose history to return (a trainer keeps one per run). Default: the service's current run.</summary>
    [Parameter(ParameterSetName = HistorySet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <summary>At most this many points over the whole history, adjacent points merged. Default: every point kept.</summary>
    [Parameter(ParameterSetName = HistorySet)]
    [ValidateRange(1, 1_000_000)]
    public int? MaxPoints { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName != HistorySet)
        {
            return;
        }

        var state = LocateStateDirectory();
        try
        {
            var read = SystemMetricsHistory.ReadFor(state, Name, RunId, MaxPoints);
            if (read.Skipped > 0)
            {
                WriteWarning($"Skipped {read.Skipped} unreadable line(s) of the history of '{Name}' (a damaged line, or a partial one its writer left).");
            }

            WriteObject(read.Points, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            WriteStabilityError(ex, RunId ?? Name);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (ParameterSetName == HistorySet)
        {
            return;
        }

        // Read-only: a missing state directory just means no services yet; the machine's resources still show.
        var manager = new ResourceManager(LocateStateDirectory());
        WriteVerbose($"GPU probe: {manager.Probe.Source}.");
        WriteObject(manager.CheckMemoryUsage());
    }
}
