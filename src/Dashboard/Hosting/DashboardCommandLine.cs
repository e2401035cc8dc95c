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
                                   [--token-file FILE | --no-auth] [--allowed-host HOST]...
                                   [--cert FILE.pfx [--cert-password-file FILE] | --cert FILE.pem [--cert-key FILE.key]]
                                   [--rate-limit N] [--max-stream-clients N] [--max-connections-per-client N]
                                   [--max-connections N] [--keep-alive-timeout-s N] [--stream-send-timeout-s N]
                                   [--poll-interval-ms N] [--state-interval-ms N] [--training-stale-after-s N]
                                   [--process-stale-after-s N] [--no-watch]
          The token comes from --token-file, else the STABILITY_DASHBOARD_TOKEN environment variable, else the
          dashboard's own token file services/NAME/dashboard.token in the state directory (made on first use, 0600).
          --no-auth serves without a token, on a loopback address only.
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

            if (name == "--no-auth")
            {
                options.NoAuthentication = true;
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
                case "--allowed-host": options.AllowedHosts.Add(value); break;
                case "--cert": options.CertificatePath = value; break;
                case "--cert-key": options.CertificateKeyPath = value; break;
                case "--max-connections-per-client": options.MaxConnectionsPerClient = Integer(name, value, usage); break;
                case "--max-connections": options.MaxConnections = Integer(name, value, usage); break;
                case "--keep-alive-timeout-s": options.KeepAliveTimeout = TimeSpan.FromSeconds(Integer(name, value, usage)); break;
                case "--stream-send-timeout-s": options.StreamSendTimeout = TimeSpan.FromSeconds(Integer(name, value, usage)); break;
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
        if (options.Token is null && tokenFile is null && !options.NoAuthentication && usage.Count == 0)
        {
            options.Token = OwnToken(options, getEnvironment, config);
        }
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

    /// <summary>The dashboard's own token file in the state directory, made on first use (a token on every bind, by default).</summary>
    private static string? OwnToken(DashboardOptions options, Func<string, string?> getEnvironment, List<ConfigurationProblem> problems)
    {
        if (!Engine.State.StateDirectory.IsValidServiceName(options.Name))
        {
            return null; // Validate reports the name.
        }

        var state = Engine.State.StateDirectory.Locate(options.StateDirectory, getEnvironment);
        if (!state.Exists)
        {
            problems.Add(new ConfigurationProblem(state.Root, null, "token",
                "the state directory does not exist, so the dashboard has no token file to use there. Start it with Start-Dashboard " +
                "(which creates both), give --token-file, or serve a loopback address with --no-auth."));
            return null;
        }

        try
        {
            return Engine.Services.DashboardToken.ReadOrCreate(state, options.Name);
        }
        catch (Engine.Errors.StabilityException ex)
        {
            problems.Add(new ConfigurationProblem(ex.Path, null, "token", ex.Message));
            return null;
        }
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
