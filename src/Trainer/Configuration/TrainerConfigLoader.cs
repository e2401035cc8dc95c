using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Trainer.Configuration;

/// <summary>
/// Builds <see cref="TrainerOptions"/> from an optional JSON file (Microsoft.Extensions.Configuration.Json) and
/// environment overrides (<c>STABILITY_TRAINER_TRAINING__EPOCHS=3</c> sets <c>training:epochs</c>), validating
/// everything once and reporting every problem together: the file and line (for keys from the file) or the
/// environment variable, the key, the value, and what is allowed. Unknown keys are errors, so a typo never
/// silently falls back to a default.
/// </summary>
internal static partial class TrainerConfigLoader
{
    /// <summary>The prefix of environment overrides.</summary>
    public const string EnvironmentPrefix = "STABILITY_TRAINER_";

    private delegate object? Parser(string value, out string? allowed);

    private static readonly string[] Sections = ["data", "model", "training", "checkpointing", "status"];

    /// <summary>Every key, its parser and, for messages, what it allows.</summary>
    private static readonly Dictionary<string, Parser> Keys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["run_id"] = RunIdValue,
        ["data:source"] = OneOf("synthetic", "csv"),
        ["data:csv_path"] = Text,
        ["data:symbol"] = Text,
        ["data:bars"] = Int(200, 5_000_000),
        ["data:seed"] = Int(0, int.MaxValue),
        ["data:window"] = Int(4, 512),
        ["data:validation_fraction"] = Real(0.05, 0.5),
        ["model:kind"] = OneOf("mlp", "lstm"),
        ["model:hidden_size"] = Int(2, 4096),
        ["model:layers"] = Int(1, 8),
        ["model:dropout"] = Real(0, 0.9),
        ["training:epochs"] = Int(1, 100_000),
        ["training:batch_size"] = Int(1, 65_536),
        ["training:learning_rate"] = Real(1e-7, 1.0),
        ["training:seed"] = Int(0, int.MaxValue),
        ["training:threads"] = Int(0, 1024),
        ["training:device"] = OneOf("auto", "cpu", "cuda"),
        ["checkpointing:interval_epochs"] = Int(1, 100_000),
        ["checkpointing:keep"] = Int(1, 1000),
        ["status:write_interval_ms"] = Int(20, 60_000),
        ["status:step_sample_every"] = Int(1, 10_000_000),
        ["status:prediction_bars"] = Int(1, 4096),
        ["status:fsync"] = Bool,
    };

    /// <summary>Loads and validates the configuration.</summary>
    /// <param name="configPath">The JSON file, or null for defaults plus environment.</param>
    /// <param name="environment">The environment to read overrides from; defaults to the process's.</param>
    /// <exception cref="ConfigurationException">Anything is wrong; every problem is listed.</exception>
    public static TrainerOptions Load(string? configPath, IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        var builder = new ConfigurationBuilder();
        IReadOnlyDictionary<string, int> lines = new Dictionary<string, int>();
        string? file = null;
        if (configPath is not null)
        {
            file = Path.GetFullPath(configPath);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                var why = ex is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : ex.Message;
                throw new ConfigurationException(new ConfigurationProblem(file, null, null,
                    $"cannot read the trainer configuration: {why}. Pass an existing JSON file with --config, or none for the defaults."), ex);
            }

            lines = JsonKeyLines.Scan(file, bytes);
            builder.AddJsonStream(new MemoryStream(bytes));
        }

        // Environment overrides: our own mapping (rather than AddEnvironmentVariables) so that a problem can name
        // the variable it came from.
        var fromEnvironment = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is string name && name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var key = name[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal).ToLowerInvariant();
                overrides[key] = entry.Value as string ?? "";
                fromEnvironment[key] = name;
            }
        }

        builder.AddInMemoryCollection(overrides);
        var configuration = builder.Build();

        var problems = new List<ConfigurationProblem>();
        var values = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is null)
            {
                continue;
            }

            ConfigurationProblem Problem(string message) => fromEnvironment.TryGetValue(key, out var variable)
                ? new ConfigurationProblem(null, null, key, $"(from environment variable {variable}) {message}")
                : new ConfigurationProblem(file, lines.TryGetValue(key, out var line) ? line : null, key, message);

            if (!Keys.TryGetValue(key, out var parse))
            {
                problems.Add(Problem(UnknownKeyMessage(key)));
                continue;
            }

            var parsed = parse(value, out var allowed);
            if (parsed is null)
            {
                problems.Add(Problem($"'{value}' is not allowed: {allowed}."));
            }
            else
            {
                values[key] = parsed;
            }
        }

        T Get<T>(string key, T fallback) => values.TryGetValue(key, out var v) ? (T)v : fallback;

        var defaults = new TrainerOptions();
        var options = new TrainerOptions
        {
            ConfigPath = file,
            RunId = Get<string?>("run_id", null),
            Data = new DataOptions
            {
                Source = Get("data:source", defaults.Data.Source),
                CsvPath = Get<string?>("data:csv_path", null),
                Symbol = Get("data:symbol", defaults.Data.Symbol),
                Bars = Get("data:bars", defaults.Data.Bars),
                Seed = Get("data:seed", defaults.Data.Seed),
                Window = Get("data:window", defaults.Data.Window),
                ValidationFraction = Get("data:validation_fraction", defaults.Data.ValidationFraction),
            },
            Model = new ModelOptions
            {
                Kind = Get("model:kind", defaults.Model.Kind),
                HiddenSize = Get("model:hidden_size", defaults.Model.HiddenSize),
                Layers = Get("model:layers", defaults.Model.Layers),
                Dropout = Get("model:dropout", defaults.Model.Dropout),
            },
            Training = new TrainingOptions
            {
                Epochs = Get("training:epochs", defaults.Training.Epochs),
                BatchSize = Get("training:batch_size", defaults.Training.BatchSize),
                LearningRate = Get("training:learning_rate", defaults.Training.LearningRate),
                Seed = Get("training:seed", defaults.Training.Seed),
                Threads = Get("training:threads", defaults.Training.Threads),
                Device = Get("training:device", defaults.Training.Device),
            },
            Checkpointing = new CheckpointOptions
            {
                IntervalEpochs = Get("checkpointing:interval_epochs", defaults.Checkpointing.IntervalEpochs),
                Keep = Get("checkpointing:keep", defaults.Checkpointing.Keep),
            },
            Status = new StatusOptions
            {
                WriteIntervalMs = Get("status:write_interval_ms", defaults.Status.WriteIntervalMs),
                StepSampleEvery = Get("status:step_sample_every", defaults.Status.StepSampleEvery),
                PredictionBars = Get("status:prediction_bars", defaults.Status.PredictionBars),
                Fsync = Get("status:fsync", defaults.Status.Fsync),
            },
        };

        // Rules between keys.
        ConfigurationProblem At(string key, string message) => fromEnvironment.TryGetValue(key, out var variable)
            ? new ConfigurationProblem(null, null, key, $"(from environment variable {variable}) {message}")
            : new ConfigurationProblem(file, lines.TryGetValue(key, out var line) ? line : null, key, message);

        if (options.Data.Source == "csv" && string.IsNullOrWhiteSpace(options.Data.CsvPath) && !problems.Any(p => string.Equals(p.Key, "data:csv_path", StringComparison.OrdinalIgnoreCase)))
        {
            problems.Add(At("data:source", "is 'csv' but 'data:csv_path' is not set: name the OHLCV CSV file in data:csv_path."));
        }

        if (options.Data.Source != "csv" && options.Data.CsvPath is not null)
        {
            problems.Add(At("data:csv_path", "is set but 'data:source' is not 'csv': set data:source to \"csv\" to train on the file, or remove data:csv_path."));
        }

        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        if (options.Data.CsvPath is { } csv && !Path.IsPathRooted(csv))
        {
            // Relative to the file that named it, so a config works from any working directory.
            var baseDirectory = file is not null && !fromEnvironment.ContainsKey("data:csv_path") ? Path.GetDirectoryName(file)! : Environment.CurrentDirectory;
            options = options with { Data = options.Data with { CsvPath = Path.GetFullPath(Path.Combine(baseDirectory, csv)) } };
        }

        return options;
    }

    private static string UnknownKeyMessage(string key)
    {
        var colon = key.LastIndexOf(':');
        var section = colon < 0 ? "" : key[..colon];
        var allowed = Keys.Keys.Where(k => (k.LastIndexOf(':') is var c && c < 0 ? "" : k[..c]).Equals(section, StringComparison.OrdinalIgnoreCase))
            .Select(k => k[(k.LastIndexOf(':') + 1)..])
            .ToList();
        if (colon < 0)
        {
            allowed.AddRange(Sections.Select(s => s + " { ... }"));
        }

        return allowed.Count == 0
            ? $"unknown key. The sections are {string.Join(", ", Sections)}."
            : $"unknown key. Allowed here: {string.Join(", ", allowed)}.";
    }

    private static Parser Int(int min, int max) => (string value, out string? allowed) =>
    {
        allowed = $"an integer from {min} to {max}";
        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n : null;
    };

    private static Parser Real(double min, double max) => (string value, out string? allowed) =>
    {
        allowed = $"a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}";
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) && x >= min && x <= max ? x : null;
    };

    private static Parser OneOf(params string[] choices) => (string value, out string? allowed) =>
    {
        allowed = "one of " + string.Join(", ", choices.Select(c => $"'{c}'"));
        return choices.FirstOrDefault(c => c.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase));
    };

    private static object? Bool(string value, out string? allowed)
    {
        allowed = "true or false";
        return bool.TryParse(value.Trim(), out var b) ? b : null;
    }

    private static object? Text(string value, out string? allowed)
    {
        allowed = "a non-empty string";
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    private static object? RunIdValue(string value, out string? allowed)
    {
        allowed = "1 to 64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit";
        return RunIdPattern().IsMatch(value) ? value : null;
    }

    // \A…\z, not ^…$: "$" also matches before a final newline, and a run id names a folder.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();
}
