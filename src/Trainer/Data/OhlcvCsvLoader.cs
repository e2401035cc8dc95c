using System.Globalization;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;

namespace StabilityTools.Trainer.Data;

/// <summary>
/// Loads OHLCV bars from a CSV file: <c>timestamp,open,high,low,close,volume</c>, with or without a header.
/// A header is recognised when the first line's price fields are not numbers; its columns may come in any order
/// (<c>time|timestamp|date|datetime</c>, <c>open</c>, <c>high</c>, <c>low</c>, <c>close</c>, <c>volume</c>,
/// case-insensitive, extra columns ignored). Timestamps are ISO-8601 (UTC unless an offset is given) or Unix
/// seconds / milliseconds. Every problem is reported with its line and column, the first 20 together.
/// </summary>
internal static class OhlcvCsvLoader
{
    private const int MaxListedProblems = 20;
    private static readonly string[] Columns = ["timestamp", "open", "high", "low", "close", "volume"];

    /// <summary>Reads the file.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="minimumBars">Fewer valid bars than this is an error (the window plus room for a split).</param>
    /// <exception cref="MarketDataException">The file is missing, unreadable, malformed or too short.</exception>
    public static IReadOnlyList<MarketBar> Load(string path, int minimumBars)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var why = ex is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : ex.Message;
            throw new MarketDataException([new ConfigurationProblem(path, null, null,
                $"cannot read the market data CSV: {why}. Set data:csv_path to an existing OHLCV CSV file, or data:source to \"synthetic\".")], 1, ex);
        }

        var problems = new List<ConfigurationProblem>();
        var total = 0;
        void Problem(int line, string? column, string message)
        {
            total++;
            if (problems.Count < MaxListedProblems)
            {
                problems.Add(new ConfigurationProblem(path, line, column, message));
            }
        }

        var first = Array.FindIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        if (first < 0)
        {
            throw new MarketDataException([new ConfigurationProblem(path, 1, null, "the file is empty; expected lines of timestamp,open,high,low,close,volume.")], 1);
        }

        var delimiter = lines[first].Contains(';') && !lines[first].Contains(',') ? ';' : ',';
        var order = new[] { 0, 1, 2, 3, 4, 5 };
        var start = first;
        var header = Split(lines[first], delimiter);
        if (IsHeader(header))
        {
            start = first + 1;
            order = MapHeader(header, first + 1, Problem);
        }

        var bars = new List<MarketBar>(lines.Length);
        DateTimeOffset? previous = null;
        for (var i = start; i < lines.Length && order.Length == 6; i++)
        {
            var lineNumber = i + 1;
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var fields = Split(lines[i], delimiter);
            var needed = order.Max() + 1;
            if (fields.Length < needed)
            {
                Problem(lineNumber, null, $"has {fields.Length} fields, expected at least {needed} ({string.Join(delimiter, Columns)}).");
                continue;
            }

            var ok = true;
            var time = default(DateTimeOffset);
            if (!TryParseTime(fields[order[0]], out time))
            {
                Problem(lineNumber, "timestamp", $"'{fields[order[0]]}' is not a timestamp: use ISO-8601 (2024-01-31T09:30:00Z) or Unix seconds or milliseconds.");
                ok = false;
            }

            var numbers = new double[5];
            for (var c = 1; c < 6; c++)
            {
                var text = fields[order[c]];
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[c - 1]) || !double.IsFinite(numbers[c - 1]))
                {
                    Problem(lineNumber, Columns[c], $"'{text}' is not a number.");
                    ok = false;
                }
                else if (c < 5 ? numbers[c - 1] <= 0 : numbers[c - 1] < 0)
                {
                    Problem(lineNumber, Columns[c], $"{text} is out of range: {(c < 5 ? "prices must be positive" : "volume must not be negative")}.");
                    ok = false;
                }
            }

            if (!ok)
            {
                continue;
            }

            var (open, high, low, close, volume) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4]);
            if (high < Math.Max(open, close) || low > Math.Min(open, close))
            {
                Problem(lineNumber, null, $"high {high} and low {low} do not enclose open {open} and close {close}.");
                continue;
            }

            if (previous is { } p && time <= p)
            {
                Problem(lineNumber, "timestamp", $"{time:O} is not after the previous bar's {p:O}: bars must be in strictly increasing time order.");
                continue;
            }

            previous = time;
            bars.Add(new MarketBar(time, open, high, low, close, volume));
        }

        if (total == 0 && bars.Count < minimumBars)
        {
            Problem(lines.Length, null, $"has {bars.Count} bars; at least {minimumBars} are needed for the configured window and a train/validation split.");
        }

        return total > 0 ? throw new MarketDataException(problems, total) : bars;
    }

    private static string[] Split(string line, char delimiter) =>
        line.Split(delimiter).Select(f => f.Trim().Trim('"').Trim()).ToArray();

    private static bool IsHeader(string[] fields) =>
        fields.Length > 1 && fields.Skip(1).Any(f => !double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _));

    private static int[] MapHeader(string[] header, int lineNumber, Action<int, string?, string> problem)
    {
        var order = new int[6];
        for (var c = 0; c < 6; c++)
        {
            string[] names = c == 0 ? ["timestamp", "time", "date", "datetime"] : [Columns[c]];
            order[c] = Array.FindIndex(header, h => names.Contains(h, StringComparer.OrdinalIgnoreCase));
            if (order[c] < 0)
            {
                problem(lineNumber, Columns[c], $"the header has no '{Columns[c]}' column (found: {string.Join(", ", header)}); expected timestamp,open,high,low,close,volume.");
            }
        }

        return order.Any(o => o < 0) ? [] : order;
    }

    private static bool TryParseTime(string text, out DateTimeOffset time)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix))
        {
            // Below 10^11 a Unix time in seconds is before the year 5138; larger values are milliseconds.
            time = default;
            if (unix is < 0 or > 253_402_300_799_999L)
            {
                return false;
            }

            time = unix < 100_000_000_000L ? DateTimeOffset.FromUnixTimeSeconds(unix) : DateTimeOffset.FromUnixTimeMilliseconds(unix);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }
}
