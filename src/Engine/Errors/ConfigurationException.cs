namespace StabilityTools.Engine.Errors;

/// <summary>
/// A configuration is invalid. Carries every problem found, each naming the file, line and key, so
/// that one run shows the user everything to fix.
/// </summary>
public class ConfigurationException : StabilityException
{
    /// <summary>Creates the exception from one or more problems.</summary>
    public ConfigurationException(IReadOnlyList<ConfigurationProblem> problems, Exception? innerException = null)
        : base(BuildMessage(problems), innerException)
    {
        if (problems.Count == 0)
        {
            throw new ArgumentException("At least one problem is required.", nameof(problems));
        }

        Problems = problems;
        Path = problems[0].File;
    }

    /// <summary>Creates the exception from a single problem.</summary>
    public ConfigurationException(ConfigurationProblem problem, Exception? innerException = null)
        : this([problem], innerException)
    {
    }

    /// <summary>Every problem found, in the order found.</summary>
    public IReadOnlyList<ConfigurationProblem> Problems { get; }

    /// <inheritdoc />
    public override string ErrorId => "InvalidConfiguration";

    private static string BuildMessage(IReadOnlyList<ConfigurationProblem> problems) => problems.Count == 1
        ? problems[0].ToString()
        : $"{problems.Count} configuration problems:{Environment.NewLine}  " +
          string.Join(Environment.NewLine + "  ", problems.Select(p => p.ToString()));
}
