using System.Text.Json;

namespace StabilityTools.Trainer.Tests;

/// <summary>Small configurations that train in seconds on two shared cores.</summary>
internal static class TrainerTestConfig
{
    /// <summary>Writes a config file with the given sections (anonymous objects, snake_case keys) and returns its path.</summary>
    public static string Write(string directory, object config)
    {
        var path = Path.Combine(directory, "trainer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>Options in code, for in-process sessions.</summary>
    public static Trainer.Configuration.TrainerOptions Tiny(int epochs = 4, int bars = 5000, string kind = "mlp") => new()
    {
        Data = new Trainer.Configuration.DataOptions { Bars = bars, Window = 16 },
        Model = new Trainer.Configuration.ModelOptions { Kind = kind, HiddenSize = 32, Layers = kind == "lstm" ? 1 : 2 },
        Training = new Trainer.Configuration.TrainingOptions { Epochs = epochs, BatchSize = 64, Threads = 1 },
        Status = new Trainer.Configuration.StatusOptions { WriteIntervalMs = 50, StepSampleEvery = 20 },
    };
}
