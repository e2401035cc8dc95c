using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Sweeps;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Sweeps;

public sealed class SweepSearchTests
{
    private static SweepParameter P(string name, params object[] values) =>
        new(name, values.Select(v => JsonSerializer.SerializeToElement(v)).ToList());

    private static string Key(IReadOnlyDictionary<string, JsonElement> trial) =>
        string.Join(" ", trial.Select(p => $"{p.Key}={SweepSearch.Text(p.Value)}"));

    [Fact(Timeout = 10_000)]
    public void A_grid_runs_every_combination_once_the_first_parameter_varying_slowest()
    {
        var trials = SweepSearch.Expand([P("training.learning_rate", 0.01, 0.001), P("model.hidden_size", 32, 64, 128)], SweepMethods.Grid);

        Assert.Equal(
            [
                "training.learning_rate=0.01 model.hidden_size=32", "training.learning_rate=0.01 model.hidden_size=64", "training.learning_rate=0.01 model.hidden_size=128",
                "training.learning_rate=0.001 model.hidden_size=32", "training.learning_rate=0.001 model.hidden_size=64", "training.learning_rate=0.001 model.hidden_size=128",
            ],
            trials.Select(Key));
    }

    [Fact(Timeout = 10_000)]
    public void Random_draws_are_the_same_for_the_same_seed_and_differ_for_another()
    {
        var parameters = new[] { P("lr", 0.1, 0.01, 0.001, 0.0001), P("hidden", 16, 32, 64, 128), P("kind", "mlp", "lstm") };

        var first = SweepSearch.Expand(parameters, SweepMethods.Random, count: 20, seed: 7).Select(Key).ToList();
        var again = SweepSearch.Expand(parameters, SweepMethods.Random, count: 20, seed: 7).Select(Key).ToList();
        var other = SweepSearch.Expand(parameters, SweepMethods.Random, count: 20, seed: 8).Select(Key).ToList();

        Assert.Equal(20, first.Count);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        // Every value can be drawn: 20 draws over 4 values see more than one of them.
        Assert.True(first.Select(k => k.Split(' ')[0]).Distinct().Count() > 1);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("grid", 3, "-Count is for -Method Random")]
    [InlineData("random", null, "-Count")]
    [InlineData("bayes", null, "not a search method")]
    public void A_method_and_count_that_do_not_go_together_are_refused(string method, int? count, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([P("lr", 1, 2)], method, count));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void Parameters_without_values_given_twice_or_of_other_kinds_are_refused_by_name()
    {
        Assert.Contains("at least one parameter", Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([], SweepMethods.Grid)).Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("'lr' has no values", Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([P("lr")], SweepMethods.Grid)).Message, StringComparison.Ordinal);
        Assert.Contains("'lr' is given twice", Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([P("lr", 1), P("lr", 2)], SweepMethods.Grid)).Message, StringComparison.Ordinal);
        var nested = new SweepParameter("lr", [JsonSerializer.SerializeToElement(new[] { 1 })]);
        Assert.Contains("not a number, a string or a boolean", Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([nested], SweepMethods.Grid)).Message, StringComparison.Ordinal);
        Assert.Contains("not a parameter name", Assert.Throws<ConfigurationException>(() => SweepSearch.Expand([P("a b", 1)], SweepMethods.Grid)).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void A_grid_of_more_trials_than_a_sweep_may_have_is_refused_before_it_is_expanded()
    {
        var big = Enumerable.Range(0, 4).Select(i => P($"p{i}", Enumerable.Range(0, 10).Cast<object>().ToArray())).ToList();

        var error = Assert.Throws<ConfigurationException>(() => SweepSearch.Expand(big, SweepMethods.Grid));

        Assert.Contains("10000", error.Message, StringComparison.Ordinal);
    }
}

public sealed class MedianRuleTests
{
    private static Dictionary<int, double> Curve(params double[] values) =>
        values.Select((v, i) => (Epoch: i + 1, Value: v)).ToDictionary(p => p.Epoch, p => p.Value);

    private static readonly IReadOnlyList<IReadOnlyDictionary<int, double>> Completed = [Curve(1.0, 0.5, 0.3), Curve(1.2, 0.6, 0.4), Curve(0.9, 0.7, 0.5)];

    [Fact(Timeout = 10_000)]
    public void A_trial_worse_than_the_median_of_the_completed_trials_at_its_epoch_is_stopped()
    {
        var median = MedianRule.ShouldPrune(Curve(3.0, 2.5), Completed, SweepGoals.Minimize, minTrials: 3, warmupEpochs: 1);

        // The completed trials' best by epoch 2: 0.5, 0.6, 0.7 → median 0.6.
        Assert.Equal(0.6, median);
    }

    [Fact(Timeout = 10_000)]
    public void A_trial_at_or_better_than_the_median_goes_on()
    {
        Assert.Null(MedianRule.ShouldPrune(Curve(1.0, 0.55), Completed, SweepGoals.Minimize, 3, 1));
        Assert.Null(MedianRule.ShouldPrune(Curve(1.0, 0.6), Completed, SweepGoals.Minimize, 3, 1));
    }

    [Fact(Timeout = 10_000)]
    public void Nothing_is_stopped_during_warm_up_or_before_enough_trials_have_completed()
    {
        Assert.Null(MedianRule.ShouldPrune(Curve(9.0), Completed, SweepGoals.Minimize, 3, warmupEpochs: 1));
        Assert.Null(MedianRule.ShouldPrune(Curve(9.0, 9.0), Completed.Take(2).ToList(), SweepGoals.Minimize, minTrials: 3, warmupEpochs: 1));
        Assert.Null(MedianRule.ShouldPrune(Curve(), Completed, SweepGoals.Minimize, 3, 0));
    }

    [Fact(Timeout = 10_000)]
    public void Maximize_judges_the_other_way_and_a_nan_value_is_worse_than_any_number()
    {
        // Accuracies: the completed trials' best (highest) by epoch 2 are 0.5, 0.6, 0.7 → median 0.6.
        IReadOnlyList<IReadOnlyDictionary<int, double>> accuracies = [Curve(0.3, 0.5, 0.8), Curve(0.4, 0.6, 0.9), Curve(0.5, 0.7, 0.9)];
        Assert.Equal(0.6, MedianRule.ShouldPrune(Curve(0.2, 0.3), accuracies, SweepGoals.Maximize, 3, 1));
        Assert.Null(MedianRule.ShouldPrune(Curve(0.2, 0.65), accuracies, SweepGoals.Maximize, 3, 1));
        Assert.NotNull(MedianRule.ShouldPrune(Curve(double.NaN, double.NaN), Completed, SweepGoals.Minimize, 3, 1));
    }
}

public sealed class SweepPlanTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StateDirectory _state;

    public SweepPlanTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose() => _dir.Dispose();

    private static SweepRequest Request(string name = "lr", params double[] rates) => new()
    {
        Name = name,
        Parameters = [new SweepParameter("lr", (rates.Length == 0 ? new[] { 0.1, 0.01 } : rates).Select(r => JsonSerializer.SerializeToElement(r)).ToList())],
        Trial = ServiceSpec.ForKind(ServiceKind.Training, "x", "/bin/sh", ["-c", "echo {lr}"]),
    };

    [Fact(Timeout = 30_000)]
    public void A_plan_is_written_once_and_a_second_start_of_the_same_settings_gets_the_same_plan()
    {
        var sweeps = new TrainingSweeps(new ProcessManager(_state));

        var first = sweeps.CreatePlan(Request());
        var again = sweeps.CreatePlan(Request());

        Assert.Equal(["lr-t001", "lr-t002"], first.Trials.Select(t => t.Service));
        Assert.Equal(first.Fingerprint, again.Fingerprint);
        Assert.Equal(first.Created, again.Created);
        Assert.Equal(["lr"], _state.ListSweeps());
        Assert.Equal(first.Fingerprint, TrainingSweeps.ReadPlan(_state, new StatusStore(), "lr").Fingerprint);
    }

    [Fact(Timeout = 30_000)]
    public void A_sweep_of_the_same_name_with_other_settings_is_refused_and_the_first_plan_is_kept()
    {
        var sweeps = new TrainingSweeps(new ProcessManager(_state));
        var first = sweeps.CreatePlan(Request());

        var error = Assert.Throws<ConfigurationException>(() => sweeps.CreatePlan(Request("lr", 0.5)));

        Assert.Contains("with other settings exists", error.Message, StringComparison.Ordinal);
        Assert.Contains("Remove-TrainingSweep", error.Message, StringComparison.Ordinal);
        Assert.Equal(first.Fingerprint, TrainingSweeps.ReadPlan(_state, new StatusStore(), "lr").Fingerprint);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("Bad Name", "not a sweep name")]
    [InlineData("a-name-that-is-much-too-long-for-its-trials-to-be-services-x", "not a sweep name")]
    public void A_name_its_trials_could_not_carry_is_refused(string name, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request(name), DateTimeOffset.UtcNow));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void Judging_settings_out_of_range_are_refused_naming_the_parameter()
    {
        Assert.Contains("Minimize or Maximize", Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request() with { Goal = "lowest" }, DateTimeOffset.UtcNow)).Message, StringComparison.Ordinal);
        Assert.Contains("Median", Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request() with { EarlyStop = "asha" }, DateTimeOffset.UtcNow)).Message, StringComparison.Ordinal);
        Assert.Contains("not a metric name", Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request() with { Metric = "val loss" }, DateTimeOffset.UtcNow)).Message, StringComparison.Ordinal);
        Assert.Contains("GpusPerTrial", Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request() with { GpusPerTrial = -1 }, DateTimeOffset.UtcNow)).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void With_gpus_per_trial_the_free_gpus_bound_the_trials_at_once_else_one_runs_at_a_time()
    {
        Assert.Equal(1, TrainingSweeps.BuildPlan(Request(), DateTimeOffset.UtcNow).MaxConcurrent);
        Assert.Equal(3, TrainingSweeps.BuildPlan(Request() with { MaxConcurrent = 3 }, DateTimeOffset.UtcNow).MaxConcurrent);
        Assert.Equal(SweepSearch.MaxTrials, TrainingSweeps.BuildPlan(Request() with { GpusPerTrial = 1 }, DateTimeOffset.UtcNow).MaxConcurrent);
        Assert.Equal(SweepSearch.MaxTrials, TrainingSweeps.BuildPlan(Request() with { CpusPerTrial = 1 }, DateTimeOffset.UtcNow).MaxConcurrent);
        Assert.Contains("CpusPerTrial", Assert.Throws<ConfigurationException>(() => TrainingSweeps.BuildPlan(Request() with { CpusPerTrial = -1 }, DateTimeOffset.UtcNow)).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void On_slurm_a_trial_asks_the_job_for_its_gpus_and_cores_and_names_no_device_itself()
    {
        var plan = TrainingSweeps.BuildPlan(Request() with
        {
            Trial = ServiceSpec.ForKind(ServiceKind.Training, "x", "/bin/sh", ["-c", "echo {lr}"]) with { Slurm = new SlurmJobOptions { Partition = "gpu" } },
            GpusPerTrial = 2,
            CpusPerTrial = 8,
        }, DateTimeOffset.UtcNow);

        var spec = SweepTrials.Spec(plan, plan.Trials[1], "run-2", []);

        Assert.Equal(2, spec.Slurm!.Gpus);
        Assert.Equal(8, spec.Slurm.CpusPerTask);
        Assert.Equal("gpu", spec.Slurm.Partition);
        Assert.Null(spec.GpuDevices);
        Assert.False(spec.GpuExclusive);
    }

    [Fact(Timeout = 10_000)]
    public void A_trials_spec_carries_its_settings_as_arguments_environment_and_built_in_overrides_with_its_own_gpus()
    {
        var plan = TrainingSweeps.BuildPlan(Request() with
        {
            Parameters = [new SweepParameter("training.learning_rate", [JsonSerializer.SerializeToElement(0.001)]), new SweepParameter("model.hidden_size", [JsonSerializer.SerializeToElement(64)])],
            Trial = ServiceSpec.ForKind(ServiceKind.Training, "x", "/bin/sh", ["-c", "train --lr {training.learning_rate} --h {model.hidden_size} {other}"]),
            BuiltInTrainer = true,
            GpusPerTrial = 1,
        }, DateTimeOffset.UtcNow);

        var spec = SweepTrials.Spec(plan, plan.Trials[0], "run-1", [2]);

        Assert.Equal("lr-t001", spec.Name);
        Assert.Equal("run-1", spec.RunId);
        Assert.Equal("lr", spec.Experiment);
        Assert.Equal("train --lr 0.001 --h 64 {other}", spec.Arguments[1]);
        Assert.Equal("0.001", spec.Environment["STABILITY_PARAM_TRAINING__LEARNING_RATE"]);
        Assert.Equal("0.001", spec.Environment["STABILITY_TRAINER_TRAINING__LEARNING_RATE"]);
        Assert.Equal("64", spec.Environment["STABILITY_TRAINER_MODEL__HIDDEN_SIZE"]);
        Assert.Equal("""{"training.learning_rate":0.001,"model.hidden_size":64}""", spec.Environment[SweepTrials.ParametersVariable]);
        Assert.Equal("1", spec.Environment["STABILITY_TRIAL"]);
        Assert.Equal([2], spec.GpuDevices!);
        Assert.True(spec.GpuExclusive);
        Assert.Contains("sweep:lr", spec.Tags);
        spec.Validate();
    }

    [Fact(Timeout = 30_000)]
    public void A_sweep_no_controller_ran_shows_every_trial_pending_and_is_removed_with_its_folder()
    {
        var sweeps = new TrainingSweeps(new ProcessManager(_state));
        sweeps.CreatePlan(Request());

        var info = sweeps.Get("lr");

        Assert.Equal("interrupted", info.State);
        Assert.Equal(2, info.Pending);
        Assert.Null(info.Best);
        sweeps.Remove("lr");
        Assert.Empty(_state.ListSweeps());
        Assert.Contains("no sweep 'lr'", Assert.Throws<ConfigurationException>(() => sweeps.Get("lr")).Message, StringComparison.Ordinal);
    }
}
