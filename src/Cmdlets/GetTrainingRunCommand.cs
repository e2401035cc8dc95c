using System.Management.Automation;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists training runs with their settings and final metrics.</para>
/// <para type="description">Reads every runs/&lt;run_id&gt;/run.json of the state directory, oldest first, without locking
/// or changing anything. Each run is one object: RunId, Service, Experiment, Tags, State, Created, Ended, Epochs, then
/// each final metric (val_accuracy, train_loss, ...) and each parameter of its resolved configuration by its dotted name
/// (training.learning_rate, model.kind, ...) as properties of their own, so Where-Object, Sort-Object and Export-Csv work
/// on them directly. The whole record is in the Run property. The properties are read-only (they are what run.json
/// says): Select-Object copies a run to change values, Add-Member adds some.</para>
/// <example>
///   <code>Get-TrainingRun -Experiment lr-sweep -State completed | Sort-Object val_accuracy -Descending | Select-Object -First 3</code>
///   <para>The three best completed runs of an experiment.</para>
/// </example>
/// <example>
///   <code>Get-TrainingRun -Name exp-a -Since (Get-Date).AddDays(-1)</code>
///   <para>The runs the service exp-a started in the last day.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TrainingRun")]
[OutputType(typeof(TrainingRunView))]
public sealed class GetTrainingRunCommand : StabilityCmdlet
{
    /// <summary>The PowerShell type name of the objects written, for the default table view.</summary>
    public const string TypeName = "StabilityTools.TrainingRun";

    /// <summary>Runs of these services.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>These runs (wildcards allowed).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? RunId { get; set; }

    /// <summary>Runs of this experiment.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Experiment { get; set; }

    /// <summary>Runs in this state.</summary>
    [Parameter]
    [ValidateSet("created", "running", "completed", "failed", "stopped")]
    public string? State { get; set; }

    /// <summary>Runs created at or after this time.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Runs carrying every one of these tags.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Tag { get; set; }

    private readonly List<TrainingRun> _found = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private IReadOnlyList<TrainingRun>? _all;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        _all ??= new TrainingRuns(LocateStateDirectory()).List(new RunFilter
        {
            Experiment = Experiment, State = State, Since = Since is { } since ? new DateTimeOffset(since.ToUniversalTime()) : null, Tags = Tag ?? [],
        });
        var patterns = RunId?.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
        foreach (var run in _all)
        {
            if ((Name is null || Name.Contains(run.Service, StringComparer.Ordinal))
                && (patterns is null || patterns.Any(p => p.IsMatch(run.RunId)))
                && _seen.Add(run.RunId))
            {
                _found.Add(run);
            }
        }

        foreach (var id in RunId?.Where(id => !WildcardPattern.ContainsWildcardCharacters(id) && !_seen.Contains(id)) ?? [])
        {
            WriteError(new ErrorRecord(new ItemNotFoundException($"There is no run '{id}'{(Name is null ? "" : $" of {string.Join(", ", Name)}")} matching the filters. Get-TrainingRun without -RunId lists them."),
                "RunNotFound", ErrorCategory.ObjectNotFound, id));
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        foreach (var run in _found.OrderBy(r => r.Created).ThenBy(r => r.RunId, StringComparer.Ordinal))
        {
            WriteObject(new TrainingRunView(run));
        }
    }
}
