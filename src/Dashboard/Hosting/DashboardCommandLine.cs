using System.Globalization;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Dashboard.Hosting;

/// <summary>
/// Turns <c>stability-dashboard</c>'s command line (and <c>STABILITY_DASHBOARD_TOKEN</c>) into validated
/// <see cref="DashboardOptions"/>, collecting every problem before reporting.
/// </summary>
public static class DashboardCommandLine
{
    /// <summary>The environment variable that may carry the token (never the command line: other users can read it).</summary>
    public const string TokenVariable = "STABILITY_DASHBOARD_TOKEN";

    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: stability-dashboard [--state-dir DIR] [--bind ADDRESS] [--port N] [--name NAME]
                                   [--token-file FILE] [--cert FILE.pfx [--cert-password-file FILE]]
                                   [--rate-limit N] [--max-stream-clients N] [--poll-interval-ms N]
                                   [--state-interval-ms N] [--training-stale-after-s N] [--process-stale-after-s N]
                                   [--no-watch]
          The token may also come from the STABILITY_DASHBOARD_TOKEN environment variable.
          Exit codes: 64 bad command line, 78 invalid configuration, 98 port in use.
        """;

    /// <summary>Parses and validates.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="getEnvironment">Reads an environment variable.</param>
    /// <returns>The options; or null with the exit code and a message that lists every problem (or, for <c>--help</c>, exit code 0 and the usage).</returns>
    public static (DashboardOptions? Options, int ExitCode, string? Message) Parse(IReadOnlyList<string> args, Func<string, string?> getEnvironment)
    {
        var options = new DashboardOptions();
        var usage = new List<string>();
        var config = new List<ConfigurationProblem>();
        string? tokenFile = null;
        string? passwordFile = null;

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                return (null, DashboardExitCodes.Ok, Usage);
            }

            if (name == "--no-watch")
            {
                options.UseFileSystemWatch = false;
                continue;
            }

            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                usage.Add($"unexpected argument '{name}'.");
                continue;
            }

            if (i + 1 >= args.Count)
            {
                usage.Add($"{name} needs a value.");
                continue;
            }

            var value = args[++i];
            switch (name)
            {
                case "--state-dir": options.StateDirectory = value; break;
                case "--bind": options.Bind = value; break;
                case "--port": options.Port = Integer(name, value, usage); break;
                case "--name": options.Name = value; break;
                case "--token-file": tokenFile = value; break;
                case "--cert": options.CertificatePath = value; break;
                case "--cert-password-file": passwordFile = value; break;
                case "--rate-limit": options.RateLimitPerSecond = Integer(name, value, usage); break;
                case "--max-stream-clients": options.MaxStreamClients = Integer(name, value, usage); break;
                case "--poll-interval-ms": options.PollInterval = TimeSpan.FromMilliseconds(Integer(name, value, usage)); break;
                case "--state-interval-ms": options.StateWriteInterval = TimeSpan.FromMilliseconds(Integer(name, value, usage)); break;
                case "--training-stale-after-s": options.TrainingStaleAfter = TimeSpan.FromSeconds(Integer(name, value, usage)); break;
                case "--process-stale-after-s": options.ProcessStaleAfter = TimeSpan.FromSeconds(Integer(name, value, usage)); break;
                default: usage.Add($"unknown option '{name}'."); i--; break;
            }
        }

        options.Token = tokenFile is not null
            ? ReadSecret("--token-file", tokenFile, config)
            : getEnvironment(TokenVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment.Trim() : null;
        if (passwordFile is not null)
        {
            options.CertificatePassword = ReadSecret("--cert-password-file", passwordFile, config);
        }

        if (usage.Count > 0)
        {
            return (null, DashboardExitCodes.Usage, "stability-dashboard: " + string.Join(" ", usage) + Environment.NewLine + Usage);
        }

        try
        {
            options.Validate();
        }
        catch (ConfigurationException ex)
        {
            config.AddRange(ex.Problems);
        }

        return config.Count == 0
            ? (options, DashboardExitCodes.Ok, null)
            : (null, DashboardExitCodes.Configuration, "stability-dashboard: " + new ConfigurationException(config).Message);
    }

    private static int Integer(string name, string value, List<string> problems)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result))
        {
            return result;
        }

        problems.Add($"{name} needs an integer, not '{value}'.");
        return 0;
    }

    private static string? ReadSecret(string key, string path, List<ConfigurationProblem> problems)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            if (text.Length == 0)
            {
                problems.Add(new ConfigurationProblem(path, null, key, "the file is empty."));
                return null;
            }

            return text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add(new ConfigurationProblem(path, null, key, $"cannot be read: {ex.Message}"));
            return null;
        }
    }
}
