using System.Net;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Dashboard.Hosting;

/// <summary>
/// Everything the dashboard host needs, as plain values with documented defaults. Built from the command
/// line by <see cref="DashboardCommandLine"/> or directly by tests and benchmarks; checked once by
/// <see cref="Validate"/>, which reports every problem together.
/// </summary>
public sealed class DashboardOptions
{
    /// <summary>The default port, 8050 (the seed's).</summary>
    public const int DefaultPort = 8050;

    /// <summary>The state directory to read. Default: resolved like every cmdlet (<c>$STABILITY_HOME</c>, then the XDG/LOCALAPPDATA default).</summary>
    public string? StateDirectory { get; set; }

    /// <summary>The address to listen on: an IP literal or <c>localhost</c>. Default <c>127.0.0.1</c>.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>The TCP port. Default 8050; 0 picks a free port (printed on start and written to dashboard_state.json).</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>
    /// The access token. When set, the page and API require it (Bearer header or the cookie set by <c>/?token=</c>).
    /// Required for a non-loopback <see cref="Bind"/>. Default none.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>A PKCS#12 certificate for HTTPS. Default none (plain HTTP).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, when it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The dashboard's name: <c>dashboard</c> writes <c>data/dashboard_state.json</c>, any other name
    /// <c>data/dashboard_state.&lt;name&gt;.json</c>, so several dashboards can serve one state directory. Default <c>dashboard</c>.</summary>
    public string Name { get; set; } = "dashboard";

    /// <summary>Requests per second each client address may make (token bucket, burst twice this). 0 turns the limit off. Default 50.</summary>
    public int RateLimitPerSecond { get; set; } = 50;

    /// <summary>The most Server-Sent-Events streams served at once; more get 503. Default 64.</summary>
    public int MaxStreamClients { get; set; } = 64;

    /// <summary>How often every file is re-read whatever the file-system watch says (the fallback for file systems without watches). Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>When false, only polling is used (network file systems). Default true.</summary>
    public bool UseFileSystemWatch { get; set; } = true;

    /// <summary>A training status or heartbeat older than this is shown as stale. Default 30 s.</summary>
    public TimeSpan TrainingStaleAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A supervisor status older than this is shown as stale (state unknown); supervisors rewrite it every second. Default 5 s.</summary>
    public TimeSpan ProcessStaleAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often <c>dashboard_state.json</c> is rewritten. Default 5 s.</summary>
    public TimeSpan StateWriteInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a single background operation (a file read, a state write) may take before it counts as failed. Default 10 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Metric records kept in memory (the oldest are dropped). Default 200 000.</summary>
    public int MaxMetricRecords { get; set; } = 200_000;

    /// <summary>Events kept in memory (the newest). Default 2 000.</summary>
    public int MaxEvents { get; set; } = 2_000;

    /// <summary>The web root holding the page. Default <c>wwwroot</c> beside the executable.</summary>
    public string? WebRoot { get; set; }

    /// <summary>True when <see cref="Bind"/> is a loopback address (or <c>localhost</c>).</summary>
    public bool IsLoopback => TryParseBind(Bind, out var address) && IPAddress.IsLoopback(address);

    /// <summary>The address <see cref="Bind"/> names, once valid.</summary>
    public IPAddress BindAddress => TryParseBind(Bind, out var address)
        ? address
        : throw new InvalidOperationException($"'{Bind}' is not a valid bind address; call Validate first.");

    /// <summary>The dashboard's own status file name under <c>data/</c>.</summary>
    public string StateFileName => Name == "dashboard" ? "dashboard_state.json" : $"dashboard_state.{Name}.json";

    /// <summary>Checks every option and reports all problems together.</summary>
    /// <returns>This instance.</returns>
    /// <exception cref="ConfigurationException">One or more options are invalid; each problem names the option and what is allowed.</exception>
    public DashboardOptions Validate()
    {
        var problems = new List<ConfigurationProblem>();
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(null, null, key, message));

        if (!TryParseBind(Bind, out _))
        {
            Problem("--bind", $"'{Bind}' is not an IP address; use e.g. 127.0.0.1, ::1, 0.0.0.0 or localhost.");
        }
        else if (!IsLoopback && string.IsNullOrEmpty(Token))
        {
            Problem("--bind", $"binding to the non-loopback address {Bind} needs a token: the dashboard would be open to the network. " +
                "Give one with --token-file or STABILITY_DASHBOARD_TOKEN, or bind to 127.0.0.1.");
        }

        if (Port is < 0 or > 65535)
        {
            Problem("--port", $"{Port} is not a TCP port; use 1 to 65535 (or 0 for any free port).");
        }

        if (Token is not null && (Token.Length < 16 || Token.Any(char.IsWhiteSpace)))
        {
            Problem("token", "the token must be at least 16 characters without white space (e.g. 32 random hex digits).");
        }

        if (CertificatePath is not null && !File.Exists(CertificatePath))
        {
            Problem("--cert", $"the certificate file '{CertificatePath}' does not exist.");
        }

        if (!Engine.State.StateDirectory.IsValidServiceName(Name))
        {
            Problem("--name", $"'{Name}' is not a valid name; use lower-case letters, digits, '.', '_' and '-'.");
        }

        if (RateLimitPerSecond is < 0 or > 1_000_000)
        {
            Problem("--rate-limit", $"{RateLimitPerSecond} is out of range; use 0 (off) to 1000000 requests per second.");
        }

        if (MaxStreamClients is < 1 or > 10_000)
        {
            Problem("--max-stream-clients", $"{MaxStreamClients} is out of range; use 1 to 10000.");
        }

        CheckPositive(problems, "--poll-interval-ms", PollInterval, TimeSpan.FromMilliseconds(50));
        CheckPositive(problems, "--training-stale-after-s", TrainingStaleAfter, TimeSpan.FromSeconds(1));
        CheckPositive(problems, "--process-stale-after-s", ProcessStaleAfter, TimeSpan.FromSeconds(1));
        CheckPositive(problems, "--state-interval-ms", StateWriteInterval, TimeSpan.FromMilliseconds(100));
        CheckPositive(problems, "operation timeout", OperationTimeout, TimeSpan.FromMilliseconds(100));

        if (MaxMetricRecords is < 100 or > 10_000_000)
        {
            Problem("max metric records", $"{MaxMetricRecords} is out of range; use 100 to 10000000.");
        }

        if (MaxEvents is < 10 or > 1_000_000)
        {
            Problem("max events", $"{MaxEvents} is out of range; use 10 to 1000000.");
        }

        return problems.Count == 0 ? this : throw new ConfigurationException(problems);
    }

    private static void CheckPositive(List<ConfigurationProblem> problems, string key, TimeSpan value, TimeSpan minimum)
    {
        if (value < minimum || value > TimeSpan.FromDays(1))
        {
            problems.Add(new ConfigurationProblem(null, null, key, $"{value.TotalMilliseconds:0} ms is out of range; use {minimum.TotalMilliseconds:0} ms to one day."));
        }
    }

    private static bool TryParseBind(string? bind, out IPAddress address)
    {
        if (string.Equals(bind, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }

        return IPAddress.TryParse(bind ?? "", out address!);
    }
}
