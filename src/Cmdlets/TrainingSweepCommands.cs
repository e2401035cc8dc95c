using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Sweeps;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Starts a sweep: many trials of a trainer over settings, run by a supervised controller.</para>
/// <para type="description">Makes the sweep's plan once (every trial and its settings, in sweeps/NAME/plan.json) and
/// starts its controller, the service NAME-sweep, under its own supervisor. The controller starts each trial as a
/// training service of its own (NAME-t001, ...) while places and GPUs are free, records every trial's progress in
/// sweeps/NAME/progress.json, applies the median stopping rule, and ends when every trial has ended.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TrainingSweep", SupportsShouldProcess = true)]
[OutputType(typeof(SweepInfo))]
public sealed class StartTrainingSweepCommand : TrainerStartCommandBase
{
    /// <summary>The sweep's name: its folder, its runs' experiment, and the stem of its services' names.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>
    /// The parameters and their values: <c>@{ 'training.learning_rate' = 1e-2, 1e-3; 'model.hidden_size' = 32, 64 }</c>.
    /// A grid varies the first parameter slowest: with <c>[ordered]@{...}</c> in the order given, else by name.
    /// </summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public IDictionary Parameter { get; set; } = new Hashtable();

    /// <summary><c>Grid</c> (default: every combination) or <c>Random</c> (-Count draws with -Seed).</summary>
    [Parameter]
    [ValidateSet("Grid", "Random")]
    public string Method { get; set; } = "Grid";

    /// <summary>Random: how many trials to draw.</summary>
    [Parameter]
    [ValidateRange(1, SweepSearch.MaxTrials)]
    public int? Count { get; set; }

    /// <summary>Random: the seed of the draws (default 0); the same seed draws the same trials everywhere.</summary>
    [Parameter]
    public int? Seed { get; set; }

    /// <summary>The most trials running at once. Default 1.</summary>
    [Parameter]
    [ValidateRange(1, SweepSearch.MaxTrials)]
    public int? MaxConcurrent { get; set; }

    /// <summary>GPUs each trial gets for itself (its CUDA_VISIBLE_DEVICES); a trial waits until that many are free. Default 0: CPU.</summary>
    [Parameter]
    [ValidateRange(0, 64)]
    public int GpusPerTrial { get; set; }

    /// <summary>CPU cores each trial gets for itself (its CPU affinity); a trial waits until that many are free. With -Backend Slurm, each job's --cpus-per-task. Default 0: unpinned.</summary>
    [Parameter]
    [ValidateRange(0, 4096)]
    public int CpusPerTrial { get; set; }

    /// <summary>The metric trials are ranked and pruned by: val_loss (default), train_loss, val_accuracy, train_accuracy, or a custom scalar's name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Metric { get; set; } = "val_loss";

    /// <summary><c>Minimize</c> (default) or <c>Maximize</c>.</summary>
    [Parameter]
    [ValidateSet("Minimize", "Maximize")]
    public string Goal { get; set; } = "Minimize";

    /// <summary><c>None</c> (default) or <c>Median</c>: stop a trial whose best metric by epoch k is worse than the median of the completed trials at k.</summary>
    [Parameter]
    [ValidateSet("None", "Median")]
    public string EarlyStop { get; set; } = "None";

    /// <summary>The median rule judges only once this many trials have completed. Default 3.</summary>
    [Parameter]
    [ValidateRange(1, SweepSearch.MaxTrials)]
    public int EarlyStopMinTrials { get; set; } = 3;

    /// <summary>The median rule judges a trial only after this many epochs. Default 1.</summary>
    [Parameter]
    [ValidateRange(0, 100_000)]
    public int EarlyStopWarmupEpochs { get; set; } = 1;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            CheckTrainerOptions(SweepPlan.ControllerName(Name));
            var slurm = SlurmOptions(SweepPlan.ControllerName(Name));
            var state = LocateStateDirectory();
            // The trial template: its name and run are each trial's; validated once a trial's settings are in it.
            var trial = TrainerSpec(state, SweepPlan.TrialName(Name, 1), slurm);
            var request = new SweepRequest
            {
                Name = Name,
                Parameters = Parameters(Parameter),
                Method = Method.ToLowerInvariant(),
                Count = Count,
                Seed = Seed,
                Trial = trial,
                BuiltInTrainer = FilePath is null,
                MaxConcurrent = MaxConcurrent,
                GpusPerTrial = GpusPerTrial,
                CpusPerTrial = CpusPerTrial,
                Metric = Metric,
                Goal = Goal.ToLowerInvariant(),
                EarlyStop = EarlyStop.ToLowerInvariant(),
                EarlyStopMinTrials = EarlyStopMinTrials,
                EarlyStopWarmupEpochs = EarlyStopWarmupEpochs,
            };
            var preview = TrainingSweeps.BuildPlan(request, DateTimeOffset.UtcNow);
            if (!ShouldProcess($"sweep '{Name}' ({preview.Trials.Count} trials of {trial.FilePath}, {preview.MaxConcurrent} at once) in '{state.Root}'", "Start"))
            {
                return;
            }

            var sweeps = new TrainingSweeps(new ProcessManager(OpenStateDirectory()));
            var plan = sweeps.CreatePlan(request);
            WriteVerbose($"Sweep '{Name}': {plan.Trials.Count} trials, plan {plan.Fingerprint}.");
            var info = PipelineWait.Run(this, $"Starting sweep '{Name}'", (progress, token) => sweeps.StartAsync(plan, progress, token), CancellationToken);
            if (PassThru)
            {
                WriteObject(info);
            }
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, Name);
        }
    }

    /// <summary>The swept parameters of a PowerShell dictionary: each value a scalar or a list of numbers, strings and booleans.</summary>
    internal static IReadOnlyList<SweepParameter> Parameters(IDictionary parameters)
    {
        var entries = parameters.Cast<DictionaryEntry>().Select(e => (Name: e.Key?.ToString() ?? "", e.Value)).ToList();
        // A plain hashtable has no order of its own: sort by name, so the same call makes the same plan every time.
        if (parameters is not OrderedDictionary)
        {
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        }

        return entries.Select(e => new SweepParameter(e.Name, Values(e.Name, e.Value))).ToList();
    }

    private static List<JsonElement> Values(string name, object? value)
    {
        var items = value is PSObject { BaseObject: var inner } ? inner : value;
        var list = items is IEnumerable sequence and not string ? sequence.Cast<object?>().ToList() : [items];
        return list.Select(v => (v is PSObject p ? p.BaseObject : v) switch
        {
            string s => JsonSerializer.SerializeToElement(s),
            bool b => JsonSerializer.SerializeToElement(b),
            int or long or short or byte or sbyte or uint or ushort or ulong => JsonSerializer.SerializeToElement(Convert.ToInt64(v is PSObject q ? q.BaseObject : v, System.Globalization.CultureInfo.InvariantCulture)),
            float or double or decimal => JsonSerializer.SerializeToElement(Convert.ToDouble(v is PSObject q ? q.BaseObject : v, System.Globalization.CultureInfo.InvariantCulture)),
            var other => throw new ConfigurationException(new ConfigurationProblem(null, null, "Parameter",
                $"The parameter '{name}' has the value '{other}' ({other?.GetType().Name ?? "null"}): give numbers, strings or booleans.")),
        }).ToList();
    }
}

/// <summary>
/// <para type="synopsis">Gets sweeps: their progress, the best trial, and every trial with its settings, state and metric.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TrainingSweep")]
[OutputType(typeof(SweepInfo), typeof(SweepTrialInfo))]
public sealed class GetTrainingSweepCommand : StabilityCmdlet
{
    /// <summary>The sweeps to show; wildcards allowed. Default: every sweep.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Write the sweeps' trials, one object each, instead of the sweeps.</summary>
    [Parameter]
    public SwitchParameter Trial { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        if (!state.Exists)
        {
            return;
        }

        var sweeps = new TrainingSweeps(new ProcessManager(state));
        var names = state.ListSweeps();
        foreach (var pattern in Name ?? ["*"])
        {
            var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase);
            var matched = names.Where(wildcard.IsMatch).ToList();
            if (matched.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                WriteStabilityError(new ConfigurationException(new ConfigurationProblem(null, null, "Name",
                    $"There is no sweep '{pattern}' in '{state.Root}'. Get-TrainingSweep lists the sweeps; Start-TrainingSweep makes one.")), pattern);
            }

            foreach (var name in matched)
            {
                try
                {
                    var info = sweeps.Get(name);
                    if (Trial)
                    {
                        WriteObject(info.Trials, enumerateCollection: true);
                    }
                    else
                    {
                        WriteObject(info);
                    }
                }
                catch (StabilityException ex)
                {
                    WriteStabilityError(ex, name);
                }
            }
        }
    }
}

/// <summary>
/// <para type="synopsis">Waits until a sweep has completed, showing its trials' progress.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "TrainingSweep")]
[OutputType(typeof(SweepInfo))]
public sealed class WaitTrainingSweepCommand : StabilityCmdlet
{
    private const int ActivityId = 7500;

    /// <summary>The sweep.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Seconds to wait before giving up. Default: no limit.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var sweeps = new TrainingSweeps(new ProcessManager(LocateStateDirectory()));
            var shown = new System.Diagnostics.Stopwatch();
            var info = BackgroundPump.Run<string, SweepInfo>(
                (progress, token) => sweeps.WaitAsync(Name, Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null, progress, token),
                message => WriteVerbose(message),
                () =>
                {
                    if (shown.IsRunning && shown.ElapsedMilliseconds < 500)
                    {
                        return;
                    }

                    shown.Restart();
                    var now = sweeps.Get(Name);
                    var done = now.Total - now.Pending - now.Running;
                    WriteProgress(new ProgressRecord(ActivityId, $"Sweep '{Name}'", now.Summary)
                    {
                        PercentComplete = now.Total == 0 ? 0 : Math.Min(100, 100 * done / now.Total),
                    });
                },
                CancellationToken);
            WriteProgress(new ProgressRecord(ActivityId, $"Sweep '{Name}'", "Done.") { RecordType = ProgressRecordType.Completed });
            if (info.State != SweepStates.Completed)
            {
                // A sweep that was stopped, or whose controller gave up, did not finish: a runbook must see that.
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                    $"The sweep '{Name}' ended {info.State} (its controller {info.ControllerState?.ToString() ?? "never started"}): {info.Summary}. Get-TrainingSweep '{Name}' -Trial shows its trials; Start-TrainingSweep with the same settings goes on with the trials not done."),
                    info.State == SweepStates.Stopped ? "SweepStopped" : "SweepFatal", ErrorCategory.InvalidResult, Name));
            }

            WriteObject(info);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (TimeoutException ex)
        {
            ThrowStabilityError(new AsyncOperationException("Wait-TrainingSweep", ex.Message, ex), Name);
        }
        catch (StabilityException ex)
        {
            ThrowStabilityError(ex, Name);
        }
    }
}

/// <summary>
/// <para type="synopsis">Stops a sweep: its controller, then every trial still running, gracefully.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "TrainingSweep", SupportsShouldProcess = true)]
[OutputType(typeof(SweepInfo))]
public sealed class StopTrainingSweepCommand : StabilityCmdlet
{
    /// <summary>The sweeps to stop.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>Seconds each trial has after the graceful signal before its tree is killed. Default: the trial spec's (10).</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? Timeout { get; set; }

    /// <summary>Kill at once, without the graceful signal.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write each sweep as it stands after the stop.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        var sweeps = new TrainingSweeps(new ProcessManager(state));
        foreach (var name in Name)
        {
            if (!ShouldProcess($"sweep '{name}' in '{state.Root}'", Force ? "Stop (kill at once)" : "Stop"))
            {
                continue;
            }

            try
            {
                var info = PipelineWait.Run(this, $"Stopping sweep '{name}'",
                    (progress, token) => sweeps.StopAsync(name, Timeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null, Force, progress, token), CancellationToken);
                if (PassThru)
                {
                    WriteObject(info);
                }
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
            catch (StabilityException ex)
            {
                WriteStabilityError(ex, name);
            }
        }
    }
}

/// <summary>
/// <para type="synopsis">Removes a sweep's plan and progress; its runs stay.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TrainingSweep", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveTrainingSweepCommand : StabilityCmdlet
{
    /// <summary>The sweeps to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        var sweeps = new TrainingSweeps(new ProcessManager(state));
        foreach (var name in Name)
        {
            if (!ShouldProcess($"sweep '{name}' in '{state.Root}' (its plan and progress; its runs stay)", "Remove"))
            {
                continue;
            }

            try
            {
                sweeps.Remove(name);
            }
            catch (Exception ex) when (ex is StabilityException or IOException or UnauthorizedAccessException)
            {
                WriteStabilityError(ex, name);
            }
        }
    }
}
