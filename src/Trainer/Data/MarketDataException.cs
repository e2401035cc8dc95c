using StabilityTools.Engine.Errors;

namespace StabilityTools.Trainer.Data;

/// <summary>
/// Market data cannot be used: a CSV file is missing, unreadable or malformed. Lists the problems found
/// (file, line, column and what is allowed); nothing was trained on it.
/// </summary>
internal sealed class MarketDataException : StabilityException
{
    /// <summary>Creates the exception from the problems found (at least one).</summary>
    public MarketDataException(IReadOnlyList<ConfigurationProblem> problems, int totalProblems, Exception? innerException = null)
        : base(BuildMessage(problems, totalProblems), innerException)
    {
        Problems = problems;
        Path = problems[0].File;
    }

    /// <summary>The problems listed (the first few when there were many).</summary>
    public IReadOnlyList<ConfigurationProblem> Problems { get; }

    /// <inheritdoc />
    public override string ErrorId => "InvalidMarketData";

    private static string BuildMessage(IReadOnlyList<ConfigurationProblem> problems, int total)
    {
        if (problems.Count == 1 && total == 1)
        {
            return problems[0].ToString();
        }

        var more = total > problems.Count ? $" (showing the first {problems.Count})" : "";
        return $"{total} problems in market data{more}:{Environment.NewLine}  " +
               string.Join(Environment.NewLine + "  ", problems.Select(p => p.ToString()));
    }
}
