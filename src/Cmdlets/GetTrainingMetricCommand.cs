using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the metric records of one or more training runs, ready for Export-Csv.</para>
/// <para type="description">Reads each run's runs/&lt;run_id&gt;/metrics.jsonl without locking or changing anything and
/// writes one flat object per record: RunId, Service, Time, Kind (epoch or step), Epoch, Step, TrainLoss, TrainAccuracy,
/// ValLoss, ValAccuracy, SamplesPerSec, LearningRate, then every custom scalar the trainer reported as a property of its
/// own. Runs come from -RunId, from -Name (every run of those services), or piped from Get-TrainingRun; without any, the
/// runs of the training service, else the newest run. Lines that are not valid records are skipped.</para>
/// <example>
///   <code>Get-TrainingRun -Experiment lr-sweep | Get-TrainingMetric -Kind epoch | Export-Csv sweep.csv</code>
///   <para>Every epoch of every run of an experiment, one CSV row each.</para>
/// </example>
/// <example>
///   <code>Get-TrainingMetric -Name pytrain | Select-Object Epoch, ValLoss, grad_norm</code>
///   <para>The epochs of the service's runs with a custom scalar beside the standard fields.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TrainingMetric")]
[OutputType(typeof(PSObject))]
public sealed class GetTrainingMetricCommand : StabilityCmdlet
{
    /// <summary>The PowerShell type name of the records written.</summary>
    public const string TypeName = "StabilityTools.TrainingMetric";

    /// <summary>The runs whose records to read.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? RunId { get; set; }

    /// <summary>Every run of these services.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only records of this kind: <c>epoch</c> or <c>step</c>.</summary>
    [Parameter]
    [ValidateSet("epoch", "step")]
    public string? Kind { get; set; }

    private readonly List<string> _runIds = [];

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var id in RunId ?? [])
        {
            if (!_runIds.Contains(id, StringComparer.Ordinal))
            {
                _runIds.Add(id);
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var state = LocateStateDirectory();
        var runs = new TrainingRuns(state);
        if (Name is not null)
        {
            _runIds.AddRange(runs.List().Where(r => Name.Contains(r.Service, StringComparer.Ordinal)).Select(r => r.RunId).Where(id => !_runIds.Contains(id, StringComparer.Ordinal)));
        }
        else if (_runIds.Count == 0 && runs.DefaultRunId() is { } shown)
        {
            _runIds.Add(shown);
        }

        // ValidateSet lets any case through; the kind's members are named as its words.
        MetricKind? kind = Kind is null ? null : Enum.Parse<MetricKind>(Kind, ignoreCase: true);
        foreach (var id in _runIds)
        {
            if (!Engine.State.StateDirectory.IsValidRunId(id) || !Directory.Exists(state.Run(id).Directory))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no run '{id}'. Get-TrainingRun lists the runs."), "RunNotFound", ErrorCategory.ObjectNotFound, id));
                continue;
            }

            var service = runs.Read(id).Document?.Service;
            var read = new JsonLinesLog<MetricRecord>(state.Run(id).MetricsLogPath).ReadAll();
            if (read.SkippedLines > 0)
            {
                WriteWarning($"Run {id}: {read.SkippedLines} line(s) of metrics.jsonl were not valid records and were skipped.");
            }

            foreach (var record in read.Records.Where(r => kind is null || r.Kind == kind))
            {
                WriteObject(ToObject(record, id, service));
            }
        }
    }

    private static PSObject ToObject(MetricRecord record, string runId, string? service)
    {
        var result = new PSObject();
        result.TypeNames.Insert(0, TypeName);
        void Add(string name, object? value)
        {
            if (result.Properties[name] is null)
            {
                result.Properties.Add(new PSNoteProperty(name, value));
            }
        }

        Add("RunId", record.RunId ?? runId);
        Add("Service", service);
        Add("Time", record.Time);
        Add("Kind", StatusJson.WireName(record.Kind));
        Add("Epoch", record.Epoch);
        Add("Step", record.Step);
        Add("TrainLoss", record.TrainLoss);
        Add("TrainAccuracy", record.TrainAccuracy);
        Add("ValLoss", record.ValLoss);
        Add("ValAccuracy", record.ValAccuracy);
        Add("SamplesPerSec", record.SamplesPerSec);
        Add("LearningRate", record.LearningRate);
        foreach (var (name, value) in record.Scalars ?? new Dictionary<string, double>())
        {
            Add(name, value);
        }

        return result;
    }
}
