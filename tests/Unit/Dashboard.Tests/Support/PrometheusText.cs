using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>
/// A small, strict parser of the Prometheus text exposition format 0.0.4: HELP/TYPE comments, metric names,
/// label sets with escapes, float values (NaN, +Inf, -Inf) and optional timestamps. It rejects what
/// Prometheus would reject: bad names, a TYPE after the family's samples, a family split in two, duplicate series.
/// </summary>
internal static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public static IReadOnlyList<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var seenFamilies = new HashSet<string>(StringComparer.Ordinal);
        var seenSeries = new HashSet<string>(StringComparer.Ordinal);
        string? currentFamily = null;
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                {
                    Require(MetricName().IsMatch(parts[2]), lineNumber, $"bad metric name '{parts[2]}'");
                    if (parts[1] == "TYPE")
                    {
                        Require(parts.Length == 4 && parts[3] is "counter" or "gauge" or "histogram" or "summary" or "untyped", lineNumber, "bad TYPE");
                        Require(!seenFamilies.Contains(parts[2]), lineNumber, $"TYPE for '{parts[2]}' after its samples");
                        Require(types.TryAdd(parts[2], parts[3]), lineNumber, $"second TYPE for '{parts[2]}'");
                    }
                }

                continue;
            }

            var sample = ParseSample(line, lineNumber);
            var family = sample.Name;
            if (family != currentFamily)
            {
                Require(seenFamilies.Add(family), lineNumber, $"the samples of '{family}' are not together");
                currentFamily = family;
            }

            var series = family + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            Require(seenSeries.Add(series), lineNumber, $"duplicate series {series}");
            samples.Add(sample);
        }

        return samples;
    }

    private static Sample ParseSample(string line, int lineNumber)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
        {
            i++;
        }

        var name = line[..i];
        Require(MetricName().IsMatch(name), lineNumber, $"bad metric name '{name}'");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                Require(eq > i, lineNumber, "label without '='");
                var label = line[i..eq];
                Require(LabelName().IsMatch(label), lineNumber, $"bad label name '{label}'");
                Require(line[eq + 1] == '"', lineNumber, "label value not quoted");
                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch
                        {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            _ => throw new FormatException($"line {lineNumber}: bad escape '\\{line[j]}'"),
                        });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                Require(labels.TryAdd(label, value.ToString()), lineNumber, $"label '{label}' twice");
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        var rest = line[i..].Trim().Split(' ');
        Require(rest.Length is 1 or 2, lineNumber, "expected a value and an optional timestamp");
        var number = rest[0] switch
        {
            "NaN" => double.NaN,
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            var v => throw new FormatException($"line {lineNumber}: bad value '{v}'"),
        };
        Require(rest.Length == 1 || long.TryParse(rest[1], CultureInfo.InvariantCulture, out _), lineNumber, "bad timestamp");
        return new Sample(name, labels, number);
    }

    private static void Require(bool condition, int line, string message)
    {
        if (!condition)
        {
            throw new FormatException($"line {line}: {message}");
        }
    }

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
