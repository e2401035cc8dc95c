using System.Management.Automation;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Training;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Compares training runs side by side: the parameters that differ, and the final metrics.</para>
/// <para type="description">Takes two or more runs (by -RunId, or piped from Get-TrainingRun) and writes one object per
/// row: Name (the parameter's dotted name or the metric's name), Kind (parameter or metric), then one property per run,
/// named by its run id, holding that run's value. Only the parameters whose values differ are written unless -All is
/// given; every final metric is. Rows come parameters first, then metrics, each sorted by name.</para>
/// <example>
///   <code>Get-TrainingRun -Experiment lr-sweep | Compare-TrainingRun | Format-Table</code>
///   <para>Shows what the sweep varied and how each run ended.</para>
/// </example>
/// <example>
///   <code>Compare-TrainingRun -RunId 20261129-214501-3fa9c2, 20261129-214502-77b0e1 -All</code>
///   <para>Every parameter and metric of two runs, equal ones included.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsData.Compare, "TrainingRun")]
[OutputType(typeof(PSObject))]
public sealed class CompareTrainingRunCommand : StabilityCmdlet
{
    /// <summary>The PowerShell type name of the rows written.</summary>
    public const string TypeName = "StabilityTools.TrainingRunComparison";

    /// <summary>The runs to compare (two or more).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] RunId { get; set; } = [];

    /// <summary>Also write the parameters that are equal in every run.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    private readonly List<string> _ids = [];

    /// <inheritdoc />
    protected override void ProcessRecord() => _ids.AddRange(RunId.Where(id => !_ids.Contains(id, StringComparer.Ordinal)));

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var catalog = new TrainingRuns(LocateStateDirectory());
        var runs = new List<TrainingRun>();
        foreach (var id in _ids)
        {
            if (Engine.State.StateDirectory.IsValidRunId(id) && catalog.Read(id).Document is { } run)
            {
                runs.Add(run);
            }
            else
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no run '{id}'. Get-TrainingRun lists the runs."), "RunNotFound", ErrorCategory.ObjectNotFound, id));
            }
        }

        if (runs.Count < 2)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"Compare-TrainingRun needs two or more runs; {runs.Count} found."), "TooFewRuns", ErrorCategory.InvalidArgument, _ids));
            return;
        }

        foreach (var row in Compare(runs, All))
        {
            WriteObject(row);
        }
    }

    /// <summary>The rows: differing (or, with <paramref name="all"/>, every) parameter, then every final metric.</summary>
    internal static IEnumerable<PSObject> Compare(IReadOnlyList<TrainingRun> runs, bool all)
    {
        var parameterNames = runs.SelectMany(r => (r.Parameters ?? new Dictionary<string, JsonElement>()).Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var name in parameterNames)
        {
            var values = runs.Select(r => (r.Parameters ?? new Dictionary<string, JsonElement>()).TryGetValue(name, out var v) ? TrainingRunView.ValueOf(v) : null).ToList();
            if (all || values.Select(v => v is null ? "\0null" : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                yield return Row(name, "parameter", runs, values);
            }
        }

        foreach (var name in runs.SelectMany(r => (r.Final ?? new Dictionary<string, double>()).Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            yield return Row(name, "metric", runs, [.. runs.Select(r => (r.Final ?? new Dictionary<string, double>()).TryGetValue(name, out var v) ? (object?)v : null)]);
        }
    }

    private static PSObject Row(string name, string kind, IReadOnlyList<TrainingRun> runs, IReadOnlyList<object?> values)
    {
        var row = new PSObject();
        row.TypeNames.Insert(0, TypeName);
        row.Properties.Add(new PSNoteProperty("Name", name));
        row.Properties.Add(new PSNoteProperty("Kind", kind));
        for (var i = 0; i < runs.Count; i++)
        {
            row.Properties.Add(new PSNoteProperty(runs[i].RunId, values[i]));
        }

        return row;
    }
}
