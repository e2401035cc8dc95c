using System.Management.Automation;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists training runs with their settings and final metrics.</para>
/// <para type="description">Reads every runs/&lt;run_id&gt;/run.json of the state directory, oldest first, without locking
/// or changing anything. Each run is one object: RunId, Service, Experiment, Tags, State, Created, Ended, Epochs, then
/// each final metric (val_accuracy, train_loss, ...) and each parameter of its resolved configuration by its dotted name
/// (training.learning_rate, model.kind, ...) as properties of their own, so Where-Object, Sort-Object and Export-Csv work
/// on them directly. The whole record is in the Run property.</para>
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
[OutputType(typeof(PSObject))]
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
            WriteObject(ToObject(run));
        }
    }

    /// <summary>A run as a flat object: its record's fields, final metrics and parameters as properties.</summary>
    internal static PSObject ToObject(TrainingRun run)
    {
        var result = new PSObject();
        result.TypeNames.Insert(0, TypeName);
        // Names are kept in a set of our own: asking the object whether it has a property goes through the type system
        // and cost more than building the object (a thousand runs with fifty properties each).
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Add(string name, object? value)
        {
            if (names.Add(name))
            {
                result.Properties.Add(new PSNoteProperty(name, value), preValidated: true);
            }
        }

        Add("RunId", run.RunId);
        Add("Service", run.Service);
        Add("Experiment", run.Experiment);
        Add("Tags", (run.Tags ?? []).ToArray());
        Add("State", run.State);
        Add("Created", run.Created);
        Add("Ended", run.Ended);
        Add("Epochs", run.Epochs);
        Add("Device", run.Device);
        foreach (var (metric, value) in run.Final ?? new Dictionary<string, double>())
        {
            Add(metric, value);
        }

        foreach (var (parameter, value) in run.Parameters ?? new Dictionary<string, JsonElement>())
        {
            Add(parameter, ValueOf(value));
        }

        Add("Run", run);
        return result;
    }

    /// <summary>A JSON parameter value as the PowerShell value it reads as: number, text, bool, null or JSON text for a list.</summary>
    internal static object? ValueOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var whole) => whole,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => value.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => value.GetRawText(),
    };
}
