using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Sweeps;

/// <summary>Turns swept parameters into trials: every combination (grid), or seeded independent draws (random).</summary>
public static class SweepSearch
{
    /// <summary>The most trials one sweep may have.</summary>
    public const int MaxTrials = 999;

    /// <summary>
    /// The trials of <paramref name="parameters"/>: for <c>grid</c> every combination, the first parameter varying
    /// slowest (as nested loops in the order given); for <c>random</c> <paramref name="count"/> draws, each value of each
    /// parameter equally likely, the same for the same <paramref name="seed"/> on every machine and .NET version.
    /// </summary>
    /// <exception cref="ConfigurationException">No parameter, a parameter without values or given twice, a bad method, or too many trials.</exception>
    public static IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Expand(IReadOnlyList<SweepParameter> parameters, string method, int? count = null, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0)
        {
            throw Problem("Parameter", "A sweep needs at least one parameter with values, e.g. -Parameter @{ 'training.learning_rate' = 1e-2, 1e-3 }.");
        }

        foreach (var group in parameters.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            throw Problem("Parameter", $"The parameter '{group.Key}' is given twice: give each parameter once, with all its values.");
        }

        foreach (var parameter in parameters)
        {
            if (!IsValidName(parameter.Name))
            {
                throw Problem("Parameter", $"'{parameter.Name}' is not a parameter name: use letters, digits, '_' and '-', sections separated by '.' (e.g. training.learning_rate).");
            }

            if (parameter.Values.Count == 0)
            {
                throw Problem("Parameter", $"The parameter '{parameter.Name}' has no values: give at least one.");
            }

            if (parameter.Values.Any(v => v.ValueKind is not (JsonValueKind.Number or JsonValueKind.String or JsonValueKind.True or JsonValueKind.False)))
            {
                throw Problem("Parameter", $"The parameter '{parameter.Name}' has a value that is not a number, a string or a boolean.");
            }
        }

        switch (method)
        {
            case SweepMethods.Grid:
                if (count is not null)
                {
                    throw Problem("Count", "-Count is for -Method Random; a grid runs every combination. Leave -Count out, or add -Method Random.");
                }

                var total = parameters.Aggregate(1L, (n, p) => n * p.Values.Count);
                if (total > MaxTrials)
                {
                    throw Problem("Parameter", $"The grid has {total} combinations; a sweep may have at most {MaxTrials}. Sweep fewer values, or use -Method Random -Count N.");
                }

                IEnumerable<IReadOnlyDictionary<string, JsonElement>> combinations = [new Dictionary<string, JsonElement>(StringComparer.Ordinal)];
                foreach (var parameter in parameters)
                {
                    combinations = combinations.SelectMany(c => parameter.Values.Select(v =>
                        (IReadOnlyDictionary<string, JsonElement>)new Dictionary<string, JsonElement>((IDictionary<string, JsonElement>)c, StringComparer.Ordinal) { [parameter.Name] = v })).ToList();
                }

                return combinations.ToList();
            case SweepMethods.Random:
                if (count is not ({ } n and >= 1 and <= MaxTrials))
                {
                    throw Problem("Count", $"-Method Random needs -Count between 1 and {MaxTrials} (the number of trials to draw).");
                }

                var draws = new SplitMix64((ulong)(seed ?? 0));
                return Enumerable.Range(0, n).Select(_ => (IReadOnlyDictionary<string, JsonElement>)parameters.ToDictionary(
                    p => p.Name, p => p.Values[(int)(draws.Next() % (ulong)p.Values.Count)], StringComparer.Ordinal)).ToList();
            default:
                throw Problem("Method", $"'{method}' is not a search method: use Grid or Random.");
        }
    }

    /// <summary>True for a parameter name: sections of letters, digits, '_' and '-', separated by '.'.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 128 && name.Split('.').All(s => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'));

    /// <summary>A value as a program reads it from its environment or command line: numbers as written, booleans lower-case.</summary>
    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    private static ConfigurationException Problem(string key, string message) => new(new ConfigurationProblem(null, null, key, message));

    /// <summary>SplitMix64 (Steele et al.): a tiny generator whose sequence is fixed by its seed alone, unlike <see cref="Random"/>'s across versions.</summary>
    private sealed class SplitMix64(ulong state)
    {
        public ulong Next()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
