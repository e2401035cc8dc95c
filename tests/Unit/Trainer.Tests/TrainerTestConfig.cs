using System.Text.Json;

namespace StabilityTools.Trainer.Tests;

/// <summary>Small configurations that train in seconds on two shared cores.</summary>
internal static class TrainerTestConfig
{
    /// <summary>The run of every test trainer that names none: each start of a trainer without a supervisor is a new run
    /// otherwise, and the tests restart one to see it resume.</summary>
    public const string RunId = "test-run";

    /// <summary>Writes a config file with the given sections (anonymous objects, snake_case keys) and returns its path; <c>run_id</c> defaults to <see cref="RunId"/>.</summary>
    public static string Write(string directory, object config)
    {
        var path = Path.Combine(directory, "trainer.json");
        var node = JsonSerializer.SerializeToNode(config)!.AsObject();
        if (!node.ContainsKey("run_id"))
        {
            node["run_id"] = RunId;
        }

        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>The documents of the state directory's one run (the test run when there is none yet).</summary>
    public static Engine.State.SharedDataManager Shared(Engine.State.StateDirectory state)
    {
        var runs = state.ListRunIds();
        return new Engine.State.SharedDataManager(state, run: state.Run(runs.Count == 1 ? runs[0] : RunId));
    }

    /// <summary>Options in code, for in-process sessions.</summary>
    public static Trainer.Configuration.TrainerOptions Tiny(int epochs = 4, int bars = 5000, string kind = "mlp") => new()
    {
        RunId = RunId,
        Data = new Trainer.Configuration.DataOptions { Bars = bars, Window = 16 },
        Model = new Trainer.Configuration.ModelOptions { Kind = kind, HiddenSize = 32, Layers = kind == "lstm" ? 1 : 2 },
        Training = new Trainer.Configuration.TrainingOptions { Epochs = epochs, BatchSize = 64, Threads = 1 },
        Status = new Trainer.Configuration.StatusOptions { WriteIntervalMs = 50, StepSampleEvery = 20 },
    };
}
