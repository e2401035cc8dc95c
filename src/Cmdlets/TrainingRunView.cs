using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Text.Json;
using StabilityTools.Engine.Models;

namespace StabilityTools.Cmdlets;

/// <summary>
/// A training run as <c>Get-TrainingRun</c> writes it: the record's fields, then each final metric and each parameter
/// as a property of its own (through <see cref="TrainingRunAdapter"/>), the whole record in <c>Run</c>.
/// </summary>
/// <remarks>
/// Why an adapter and not a PSObject of note properties: a thousand runs of ~55 properties each were 55,000 note
/// properties built per call, most of them never read; here a run costs one object, and its properties are laid out
/// only when something asks (a format view, Sort-Object, Export-Csv), once per object.
/// </remarks>
public sealed class TrainingRunView
{
    private IReadOnlyList<KeyValuePair<string, object?>>? _properties;
    private Dictionary<string, int>? _index;

    internal TrainingRunView(TrainingRun run) => Run = run;

    /// <summary>The run's whole record.</summary>
    public TrainingRun Run { get; }

    /// <summary>The properties in order: the record's fields, the final metrics, the parameters, then Run; the first of equal names (ignoring case) wins.</summary>
    internal IReadOnlyList<KeyValuePair<string, object?>> Properties
    {
        get
        {
            if (_properties is null)
            {
                Layout();
            }

            return _properties!;
        }
    }

    /// <summary>The property named <paramref name="name"/> (ignoring case), with its canonical name.</summary>
    internal bool TryGet(string name, out KeyValuePair<string, object?> property)
    {
        if (_index is null)
        {
            Layout();
        }

        if (_index!.TryGetValue(name, out var at))
        {
            property = _properties![at];
            return true;
        }

        property = default;
        return false;
    }

    private void Layout()
    {
        var list = new List<KeyValuePair<string, object?>>();
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        void Add(string name, object? value)
        {
            if (index.TryAdd(name, list.Count))
            {
                list.Add(new(name, value));
            }
        }

        Add("RunId", Run.RunId);
        Add("Service", Run.Service);
        Add("Experiment", Run.Experiment);
        Add("Tags", (Run.Tags ?? []).ToArray());
        Add("State", Run.State);
        Add("Created", Run.Created);
        Add("Ended", Run.Ended);
        Add("Epochs", Run.Epochs);
        Add("Device", Run.Device);
        foreach (var (metric, value) in Run.Final ?? new Dictionary<string, double>())
        {
            Add(metric, value);
        }

        foreach (var (parameter, value) in Run.Parameters ?? new Dictionary<string, JsonElement>())
        {
            Add(parameter, ValueOf(value));
        }

        Add("Run", Run);
        (_properties, _index) = (list, index);
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

/// <summary>
/// Shows a <see cref="TrainingRunView"/>'s laid-out properties to PowerShell (registered in StabilityTools.Types.ps1xml),
/// read-only, under the type name <c>StabilityTools.TrainingRun</c> that the default table view is for.
/// </summary>
public sealed class TrainingRunAdapter : PSPropertyAdapter
{
    /// <inheritdoc />
    public override Collection<string> GetTypeNameHierarchy(object baseObject) =>
        [GetTrainingRunCommand.TypeName, typeof(TrainingRunView).FullName!, typeof(object).FullName!];

    /// <inheritdoc />
    public override Collection<PSAdaptedProperty> GetProperties(object baseObject) =>
        [.. View(baseObject).Properties.Select(p => new PSAdaptedProperty(p.Key, null))];

    /// <inheritdoc />
    public override PSAdaptedProperty? GetProperty(object baseObject, string propertyName) =>
        View(baseObject).TryGet(propertyName, out var property) ? new PSAdaptedProperty(property.Key, null) : null;

    /// <inheritdoc />
    public override bool IsGettable(PSAdaptedProperty adaptedProperty) => true;

    /// <inheritdoc />
    public override bool IsSettable(PSAdaptedProperty adaptedProperty) => false;

    /// <inheritdoc />
    public override object? GetPropertyValue(PSAdaptedProperty adaptedProperty)
    {
        ArgumentNullException.ThrowIfNull(adaptedProperty);
        return View(adaptedProperty.BaseObject).TryGet(adaptedProperty.Name, out var property) ? property.Value : null;
    }

    /// <inheritdoc />
    public override void SetPropertyValue(PSAdaptedProperty adaptedProperty, object value) =>
        throw new SetValueException($"A run's properties are read-only (they are what its run.json says). Copy it with Select-Object to change values, or Add-Member to add some.");

    /// <inheritdoc />
    public override string GetPropertyTypeName(PSAdaptedProperty adaptedProperty)
    {
        ArgumentNullException.ThrowIfNull(adaptedProperty);
        return (GetPropertyValue(adaptedProperty)?.GetType() ?? typeof(object)).FullName!;
    }

    private static TrainingRunView View(object baseObject) => (TrainingRunView)baseObject;
}
