using System.Collections;
using StabilityTools.Engine.Errors;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Configuration;

namespace StabilityTools.Trainer.Tests.Configuration;

public sealed class TrainerConfigLoaderTests
{
    private static readonly IDictionary NoEnvironment = new Hashtable();

    private static string WriteConfig(TempDirectory temp, string json)
    {
        var path = temp.File("trainer.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact(Timeout = 300_000)]
    public void No_file_and_no_environment_gives_the_documented_defaults()
    {
        var options = TrainerConfigLoader.Load(null, NoEnvironment);

        Assert.Equal(new TrainerOptions().Training, options.Training);
        Assert.Equal("synthetic", options.Data.Source);
        Assert.Equal("mlp", options.Model.Kind);
        Assert.Equal(8, options.Training.Epochs);
    }

    [Fact(Timeout = 300_000)]
    public void A_file_sets_values_and_the_environment_overrides_them()
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, """
            {
              // comments are allowed
              "training": { "epochs": 3, "learning_rate": 0.01, "device": "CPU" },
              "model": { "kind": "lstm" },
              "status": { "fsync": true },
            }
            """);
        var environment = new Hashtable { ["STABILITY_TRAINER_TRAINING__EPOCHS"] = "5", ["OTHER"] = "x" };

        var options = TrainerConfigLoader.Load(path, environment);

        Assert.Equal(5, options.Training.Epochs);
        Assert.Equal(0.01, options.Training.LearningRate);
        Assert.Equal("cpu", options.Training.Device);
        Assert.Equal("lstm", options.Model.Kind);
        Assert.True(options.Status.Fsync);
    }

    [Fact(Timeout = 300_000)]
    public void Malformed_json_is_one_error_naming_the_file_and_line()
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, "{\n  \"training\": {\n    \"epochs\": 3\n    \"seed\": 1\n  }\n}\n");

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(path, problem.File);
        Assert.Equal(4, problem.Line);
        Assert.Contains("not valid JSON", error.Message);
        Assert.StartsWith($"{path}:4:", error.Message);
    }

    [Fact(Timeout = 300_000)]
    public void An_unknown_key_is_an_error_naming_file_line_key_and_the_allowed_keys()
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, "{\n  \"training\": {\n    \"epoch\": 3\n  }\n}\n");

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));

        var problem = Assert.Single(error.Problems);
        Assert.Equal((path, 3, "training:epoch"), (problem.File, problem.Line, problem.Key));
        Assert.Contains("unknown key", problem.Message);
        Assert.Contains("epochs", problem.Message);
    }

    [Fact(Timeout = 300_000)]
    public void Every_problem_is_reported_together_with_value_and_allowed_range()
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, """
            {
              "training": { "epochs": 0, "batch_size": "many", "device": "tpu" },
              "checkpointing": { "keep": 3 },
              "colour": "blue"
            }
            """);

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));

        Assert.Equal(4, error.Problems.Count);
        var epochs = error.Problems.Single(p => p.Key == "training:epochs");
        Assert.Equal(2, epochs.Line);
        Assert.Contains("'0'", epochs.Message);
        Assert.Contains("from 1 to", epochs.Message);
        Assert.Contains("'many'", error.Problems.Single(p => p.Key == "training:batch_size").Message);
        Assert.Contains("'auto', 'cpu', 'cuda'", error.Problems.Single(p => p.Key == "training:device").Message);
        Assert.Equal(4, error.Problems.Single(p => p.Key == "colour").Line);
    }

    [Fact(Timeout = 300_000)]
    public void A_bad_environment_override_names_the_variable()
    {
        var environment = new Hashtable { ["STABILITY_TRAINER_TRAINING__LEARNING_RATE"] = "-1", ["STABILITY_TRAINER_TRAINING__SPEED"] = "9" };

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(null, environment));

        Assert.Equal(2, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.Key == "training:learning_rate" && p.Message.Contains("STABILITY_TRAINER_TRAINING__LEARNING_RATE") && p.Message.Contains("'-1'"));
        Assert.Contains(error.Problems, p => p.Key == "training:speed" && p.Message.Contains("unknown key"));
    }

    [Theory(Timeout = 300_000)]
    [InlineData("run-1\n")]
    [InlineData("run-1\r\n")]
    [InlineData("run-1\nrun-2")]
    [InlineData("\nrun-1")]
    public void A_run_id_with_a_newline_is_refused_even_at_the_end(string runId)
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["run_id"] = runId }));

        var fromFile = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));
        var fromEnvironment = Assert.Throws<ConfigurationException>(() =>
            TrainerConfigLoader.Load(null, new Hashtable { ["STABILITY_TRAINER_RUN_ID"] = runId }));

        Assert.Equal("run_id", Assert.Single(fromFile.Problems).Key);
        Assert.Equal("run_id", Assert.Single(fromEnvironment.Problems).Key);
        Assert.Contains("starting with a letter or digit", fromEnvironment.Problems[0].Message);
    }

    [Fact(Timeout = 300_000)]
    public void A_plain_run_id_is_accepted()
    {
        Assert.Equal("run-1.a_b", TrainerConfigLoader.Load(null, new Hashtable { ["STABILITY_TRAINER_RUN_ID"] = "run-1.a_b" }).RunId);
    }

    [Fact(Timeout = 300_000)]
    public void A_missing_config_file_is_an_error_naming_it()
    {
        using var temp = new TempDirectory();
        var path = temp.File("nope.json");

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));

        Assert.Equal(path, Assert.Single(error.Problems).File);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact(Timeout = 300_000)]
    public void A_duplicate_key_is_an_error_naming_both_lines()
    {
        using var temp = new TempDirectory();
        var path = WriteConfig(temp, "{\n \"training\": { \"epochs\": 2,\n \"epochs\": 3 }\n}");

        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(path, NoEnvironment));

        var problem = Assert.Single(error.Problems);
        Assert.Equal((3, "training:epochs"), (problem.Line, problem.Key));
        Assert.Contains("line 2", problem.Message);
    }

    [Fact(Timeout = 300_000)]
    public void Csv_source_needs_a_path_and_a_relative_path_is_relative_to_the_config_file()
    {
        using var temp = new TempDirectory();
        var missing = WriteConfig(temp, """{ "data": { "source": "csv" } }""");
        var error = Assert.Throws<ConfigurationException>(() => TrainerConfigLoader.Load(missing, NoEnvironment));
        Assert.Equal("data:source", Assert.Single(error.Problems).Key);
        Assert.Contains("data:csv_path", error.Message);

        var relative = WriteConfig(temp, """{ "data": { "source": "csv", "csv_path": "bars.csv" } }""");
        Assert.Equal(temp.File("bars.csv"), TrainerConfigLoader.Load(relative, NoEnvironment).Data.CsvPath);
    }
}
