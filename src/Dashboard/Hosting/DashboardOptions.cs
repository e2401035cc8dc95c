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
    /// The access token: the page and API require it (Bearer header or the cookie set by <c>/?token=</c>); only
    /// <c>/healthz</c> is open. Required unless <see cref="NoAuthentication"/> is set. The command line reads it
    /// from <c>--token-file</c>, <c>STABILITY_DASHBOARD_TOKEN</c>, or else the dashboard's own token file in the state
    /// directory (made on first use). Default none.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Serve without a token: allowed on a loopback <see cref="Bind"/> only, and warned about. Default false.</summary>
    public bool NoAuthentication { get; set; }

    /// <summary>
    /// Host names (or IP literals) besides the loopback names and the bind address that the <c>Host</c> header may
    /// name, e.g. the name a reverse proxy or a tunnel uses. Any other host is refused (421), which stops DNS
    /// rebinding. Default none.
    /// </summary>
    public IList<string> AllowedHosts { get; set; } = [];

    /// <summary>A certificate for HTTPS: PKCS#12 (<c>.pfx</c>), or PEM together with <see cref="CertificateKeyPath"/>. Default none (plain HTTP).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/> (when the key is not in the certificate file). Default none.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, when it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The dashboard's name: <c>dashboard</c> writes <c>data/dashboard_state.json</c>, any other name
    /// <c>data/dashboard_state.&lt;name&gt;.json</c>, so several dashboards can serve one state directory. Default <c>dashboard</c>.</summary>
    public string Name { get; set; } = "dashboard";

    /// <summary>Requests per second each client address may make (token bucket, burst twice this). 0 turns the limit off. Default 50.</summary>
    public int RateLimitPerSecond { get; set; } = 50;

    /// <summary>The most Server-Sent-Events streams served at once; more get 503. Default 64.</summary>
    public int MaxStreamClients { get; set; } = 64;

    /// <summary>Connections one client address may hold open; past it, that client's oldest idle connection is closed. Default 64.</summary>
    public int MaxConnectionsPerClient { get; set; } = 64;

    /// <summary>Connections held open in all; past it, the oldest idle connection is closed. Default 1024.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>How long a connection may wait for its next request (or its first) before it is closed. Default 15 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a client may take to send a request's headers. Default 5 s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest one Server-Sent-Events message may take to reach a client; a client slower than that is
    /// disconnected (the page reconnects and resyncs). Default 10 s.</summary>
    public TimeSpan StreamSendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often every file is re-read whatever the file-system watch says (the fallback for file systems without watches). Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>When false, only polling is used (network file systems). Default true.</summary>
    public bool UseFileSystemWatch { get; set; } = true;

    /// <summary>A training status or heartbeat older than this is shown as stale. Default 30 s.</summary>
    public TimeSpan TrainingStaleAfter { get; set; } = StabilityTools.Engine.Status.Liveness.TrainerStaleAfter;

    /// <summary>
    /// The least age at which a supervisor status is shown as stale (state unknown). Default 5 s; the bound applied is
    /// 3 of the heartbeat intervals the supervisor announced when that is longer (Liveness.SupervisorStaleBound).
    /// </summary>
    public TimeSpan ProcessStaleAfter { get; set; } = StabilityTools.Engine.Status.Liveness.SupervisorStaleAfter;

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

    /// <summary>The dashboard's own status file name under <c>data/</c> (see <see cref="Engine.State.StateDirectory.DashboardStateFileName"/>).</summary>
    public string StateFileName => Engine.State.StateDirectory.DashboardStateFileName(Name);

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
        else if (!IsLoopback && NoAuthentication)
        {
            Problem("--no-auth", $"serving without a token is allowed on loopback only; {Bind} would open the dashboard to the network. " +
                "Drop --no-auth (a token is then used), or bind to 127.0.0.1.");
        }

        if (string.IsNullOrEmpty(Token) && !NoAuthentication)
        {
            Problem("token", "the dashboard needs a token: give one with --token-file or STABILITY_DASHBOARD_TOKEN (the command line uses " +
                "the dashboard's own token file in the state directory by default), or serve a loopback address with --no-auth.");
        }
        else if (Token is not null && NoAuthentication)
        {
            Problem("--no-auth", "a token and --no-auth were both given; give one or the other.");
        }

        foreach (var host in AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
            {
                Problem("--allowed-host", $"'{host}' is not a host name or IP address.");
            }
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

        if (CertificateKeyPath is not null && CertificatePath is null)
        {
            Problem("--cert-key", "a certificate key needs its certificate (--cert).");
        }
        else if (CertificateKeyPath is not null && !File.Exists(CertificateKeyPath))
        {
            Problem("--cert-key", $"the certificate key file '{CertificateKeyPath}' does not exist.");
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

        if (MaxConnectionsPerClient is < 2 or > 100_000)
        {
            Problem("--max-connections-per-client", $"{MaxConnectionsPerClient} is out of range; use 2 to 100000.");
        }

        if (MaxConnections < MaxConnectionsPerClient || MaxConnections > 1_000_000)
        {
            Problem("--max-connections", $"{MaxConnections} is out of range; use --max-connections-per-client ({MaxConnectionsPerClient}) to 1000000.");
        }

        CheckPositive(problems, "--keep-alive-timeout-s", KeepAliveTimeout, TimeSpan.FromSeconds(1));
        CheckPositive(problems, "request headers timeout", RequestHeadersTimeout, TimeSpan.FromMilliseconds(100));
        CheckPositive(problems, "--stream-send-timeout-s", StreamSendTimeout, TimeSpan.FromMilliseconds(100));
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
