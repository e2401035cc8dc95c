using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// <c>services/&lt;name&gt;/spec.json</c> (schema <c>service_spec/1</c>): what a supervisor runs and how it treats it.
/// Immutable; the caller writes it, the supervisor reads it at start and on <c>reload-limits</c>.
/// Build one with <see cref="ForKind"/> to get the defaults of docs/status-files.md for its kind,
/// change it with <c>with</c>, and call <see cref="Validate"/> before use.
/// </summary>
public sealed record ServiceSpec : StatusDocument, IStatusSchema
{
    /// <summary>The exit code the dashboard uses when its port is taken.</summary>
    public const int PortInUseExitCode = 98;

    /// <summary>EX_CONFIG (sysexits.h): the exit code of the trainer and the dashboard for a configuration error.</summary>
    public const int ConfigurationErrorExitCode = 78;

    /// <inheritdoc />
    public static string SchemaName => "service_spec";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The service name (see <see cref="StateDirectory.IsValidServiceName"/>).</summary>
    public string Name { get; init; } = "";

    /// <summary>What the service is. Default <see cref="ServiceKind.Program"/>.</summary>
    public ServiceKind Kind { get; init; } = ServiceKind.Program;

    /// <summary>The program to run: a path, or a name looked up on PATH.</summary>
    public string FilePath { get; init; } = "";

    /// <summary>The program's arguments, passed as they are (no shell). Default none.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Variables added to (or replacing those of) the supervisor's environment. Default none.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The working directory; null uses the state directory's root.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>When to restart. Default <c>on-failure</c> (<see cref="ForKind"/>: <c>always</c> for a dashboard).</summary>
    public RestartPolicy RestartPolicy { get; init; } = RestartPolicy.OnFailure;

    /// <summary>The delay of the second restart in a row (the first is immediate); doubles each time. Default 1000 ms.</summary>
    public int BackoffInitialMs { get; init; } = 1000;

    /// <summary>The longest restart delay. Default 30000 ms.</summary>
    public int BackoffMaxMs { get; init; } = 30_000;

    /// <summary>A run that lasts this long resets the backoff to an immediate restart. Default 60000 ms.</summary>
    public int BackoffResetAfterMs { get; init; } = 60_000;

    /// <summary>More than this many restarts within <see cref="CircuitWindowMs"/> opens the circuit (<c>fatal</c>). Default 5.</summary>
    public int CircuitMaxRestarts { get; init; } = 5;

    /// <summary>The circuit breaker's window. Default 60000 ms.</summary>
    public int CircuitWindowMs { get; init; } = 60_000;

    /// <summary>How long a stop waits after the graceful signal before it kills the whole tree. Default 10000 ms.</summary>
    public int StopTimeoutMs { get; init; } = 10_000;

    /// <summary>How long a new process must stay up (and, with a <see cref="HealthUrl"/>, answer it) before it counts as <c>running</c>. Default 1000 ms.</summary>
    public int StartupGraceMs { get; init; } = 1000;

    /// <summary>The longest wait for a first healthy answer from <see cref="HealthUrl"/> at start. Default 30000 ms.</summary>
    public int StartupTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// No progress for this long restarts the service. Training: progress is <c>progress</c> in
    /// <c>data/training_status.json</c>, watched only once a heartbeat carries the service's own pid, so a program
    /// that never beats one is never judged hung. 0 turns it off. Default 0 (<see cref="ForKind"/>: 120000 ms for training).
    /// </summary>
    public int HangTimeoutMs { get; init; }

    /// <summary>A URL probed with GET while the service runs; failures for <see cref="HealthFailureThreshold"/> probes in a row restart it. Null: no probe.</summary>
    public string? HealthUrl { get; init; }

    /// <summary>The time between health probes. Default 2000 ms.</summary>
    public int HealthIntervalMs { get; init; } = 2000;

    /// <summary>The timeout of one health probe. Default 2000 ms.</summary>
    public int HealthTimeoutMs { get; init; } = 2000;

    /// <summary>Failed probes in a row that make the service hung. Default 3.</summary>
    public int HealthFailureThreshold { get; init; } = 3;

    /// <summary>Exit codes that end supervision as <c>fatal</c> at once, without a restart (a dashboard's port conflict, 98). Default none.</summary>
    public IReadOnlyList<int> FatalExitCodes { get; init; } = [];

    /// <summary>
    /// Exit codes that no restart can fix (systemd's <c>RestartPreventExitStatus</c>): such an exit ends supervision as
    /// <c>fatal</c> at once, whatever the restart policy, with the reason in <c>status.json</c>, a <c>fatal</c> event
    /// and an alert. Each is 1–128 or 193–255 (129–192 read as deaths by a signal). Default <c>[78]</c>
    /// (<see cref="ConfigurationErrorExitCode"/>); a spec written without the field (or with null) reads with the
    /// default, and <c>[]</c> restarts after every exit code.
    /// </summary>
    public IReadOnlyList<int> NoRestartExitCodes
    {
        // A spec without the field (written before it existed) or with null reads as the default: the generated
        // deserializer sets a missing init-only property to null rather than leaving its initializer's value.
        get => _noRestartExitCodes ?? [ConfigurationErrorExitCode];
        init => _noRestartExitCodes = value;
    }

    private readonly IReadOnlyList<int>? _noRestartExitCodes;

    /// <summary>The TCP port the service listens on, when it has one (reported in conflicts).</summary>
    public int? Port { get; init; }

    /// <summary>Rotate <c>stdout.log</c>/<c>stderr.log</c> when it reaches this size. Default 10 MiB.</summary>
    public long LogMaxBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>Rotated files kept per stream (<c>.1</c> … <c>.N</c>). Default 5.</summary>
    public int LogMaxFiles { get; init; } = 5;

    /// <summary>
    /// The most a stream's capture copies per second; a service that writes faster waits in write(2) (no output is
    /// lost), which bounds the supervisor's CPU under a flood. 0: no limit. Default 16 MiB/s.
    /// </summary>
    public long LogRateLimitBytesPerSecond { get; init; } = 16 * 1024 * 1024;

    /// <summary>Run the service as this user (the supervisor must run as root). Null: as the supervisor's user.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>The service's nice value (0 normal, 19 lowest). Null keeps the supervisor's. <see cref="ForKind"/>: 10 for a dashboard.</summary>
    public int? Nice { get; init; }

    /// <summary>Hide every GPU from the service (<c>CUDA_VISIBLE_DEVICES=""</c>, <c>NVIDIA_VISIBLE_DEVICES=none</c>). Always on for a dashboard.</summary>
    public bool HideGpus { get; init; }

    /// <summary>A command (program and arguments) run with the event JSON on stdin and in <c>STABILITY_EVENT</c> on fatal, hang and limit events. Null: none.</summary>
    public IReadOnlyList<string>? AlertCommand { get; init; }

    /// <summary>A URL that receives the event JSON by POST on fatal, hang and limit events. Null: none.</summary>
    public string? AlertWebhookUrl { get; init; }

    /// <summary>The least time between two alerts; alerts in between are counted and reported with the next. Default 60000 ms.</summary>
    public int AlertMinIntervalMs { get; init; } = 60_000;

    /// <summary>Run the supervisor as a Slurm batch job with these options. Null (the default): a local process.</summary>
    public Slurm.SlurmJobOptions? Slurm { get; init; }

    /// <summary>The run it works on (<c>runs/&lt;id&gt;/</c>; <c>STABILITY_RUN_ID</c>, <c>STABILITY_RUN_DIR</c>): restarts resume it. Null: none.</summary>
    public string? RunId { get; init; }

    /// <summary>The experiment the run belongs to (recorded in its <c>run.json</c>); null for none.</summary>
    public string? Experiment { get; init; }

    /// <summary>Labels recorded in the run's <c>run.json</c>.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>
    /// A spec with the defaults of <paramref name="kind"/>: training restarts on failure and is judged hung after
    /// 120 s without progress; a dashboard restarts always, runs at nice 10 with all GPUs hidden, is probed with a 1 s
    /// timeout, and treats exit code 98 (port in use) as fatal.
    /// </summary>
    public static ServiceSpec ForKind(ServiceKind kind, string name, string filePath, IEnumerable<string>? arguments = null) => kind switch
    {
        ServiceKind.Training => new ServiceSpec
        {
            Name = name, Kind = kind, FilePath = filePath, Arguments = arguments?.ToArray() ?? [],
            RestartPolicy = RestartPolicy.OnFailure, HangTimeoutMs = 120_000,
        },
        ServiceKind.Dashboard => new ServiceSpec
        {
            Name = name, Kind = kind, FilePath = filePath, Arguments = arguments?.ToArray() ?? [],
            RestartPolicy = RestartPolicy.Always, Nice = 10, HideGpus = true, FatalExitCodes = [PortInUseExitCode],
            // A dashboard answers /healthz in milliseconds; a second without an answer on a fresh connection is a saturated one.
            HealthTimeoutMs = 1000,
        },
        _ => new ServiceSpec
        {
            Name = name, Kind = kind, FilePath = filePath, Arguments = arguments?.ToArray() ?? [],
            RestartPolicy = RestartPolicy.OnFailure,
        },
    };

    /// <summary>
    /// This spec with every setting of <paramref name="reloaded"/> except what decides what runs and as whom (program,
    /// arguments, environment, working directory, user, priority, GPU visibility, health URL, port, alert command and
    /// webhook, Slurm job): what a <c>reload-limits</c> request may change. A new command line takes a new Start.
    /// </summary>
    public ServiceSpec WithLimitsFrom(ServiceSpec reloaded) => reloaded with
    {
        Name = Name, Kind = Kind, FilePath = FilePath, Arguments = Arguments, Environment = Environment,
        WorkingDirectory = WorkingDirectory, RunAsUser = RunAsUser, Nice = Nice, HideGpus = HideGpus, HealthUrl = HealthUrl,
        Port = Port, AlertCommand = AlertCommand, AlertWebhookUrl = AlertWebhookUrl, Slurm = Slurm,
        RunId = RunId, Experiment = Experiment, Tags = Tags,
    };

    /// <summary>The names of the execution settings (see <see cref="WithLimitsFrom"/>) in which <paramref name="other"/> differs from this spec, comma-separated; null when none does.</summary>
    public string? ExecutionDiffersFrom(ServiceSpec other)
    {
        var differ = new List<string>();
        void Check(bool same, string name)
        {
            if (!same)
            {
                differ.Add(name);
            }
        }

        Check(FilePath == other.FilePath, "file_path");
        Check(Arguments.SequenceEqual(other.Arguments), "arguments");
        Check(Environment.Count == other.Environment.Count && Environment.All(e => other.Environment.TryGetValue(e.Key, out var v) && v == e.Value), "environment");
        Check(WorkingDirectory == other.WorkingDirectory, "working_directory");
        Check(RunAsUser == other.RunAsUser, "run_as_user");
        Check(Nice == other.Nice && HideGpus == other.HideGpus, "nice/hide_gpus");
        Check(HealthUrl == other.HealthUrl && Port == other.Port, "health_url/port");
        Check((AlertCommand ?? []).SequenceEqual(other.AlertCommand ?? []) && AlertWebhookUrl == other.AlertWebhookUrl, "alert_command/alert_webhook_url");
        return differ.Count == 0 ? null : string.Join(", ", differ);
    }

    /// <summary>The restart delay after the first immediate restart.</summary>
    public TimeSpan BackoffInitial => TimeSpan.FromMilliseconds(BackoffInitialMs);

    /// <summary>The longest restart delay.</summary>
    public TimeSpan BackoffMax => TimeSpan.FromMilliseconds(BackoffMaxMs);

    /// <summary>The healthy run time that resets the backoff.</summary>
    public TimeSpan BackoffResetAfter => TimeSpan.FromMilliseconds(BackoffResetAfterMs);

    /// <summary>The circuit breaker's window.</summary>
    public TimeSpan CircuitWindow => TimeSpan.FromMilliseconds(CircuitWindowMs);

    /// <summary>The graceful stop timeout.</summary>
    public TimeSpan StopTimeout => TimeSpan.FromMilliseconds(StopTimeoutMs);

    /// <summary>
    /// Checks every field and reports all problems together.
    /// </summary>
    /// <param name="source">The file the spec came from, named in the problems; null when it was built in memory.</param>
    /// <param name="checkFiles">Also check that the program and working directory exist on this machine (off when the spec is meant for another host).</param>
    /// <returns>This spec, when valid.</returns>
    /// <exception cref="ConfigurationException">One or more fields are invalid; every problem is listed.</exception>
    public ServiceSpec Validate(string? source = null, bool checkFiles = true)
    {
        var problems = new List<ConfigurationProblem>();
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(source, null, key, message));

        if (!StateDirectory.IsValidServiceName(Name))
        {
            Problem("name", $"'{Name}' is not a valid service name: use 1 to 63 characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.");
        }

        if (!Enum.IsDefined(Kind))
        {
            Problem("kind", $"'{Kind}' is not a service kind: use training, dashboard or program.");
        }

        if (!Enum.IsDefined(RestartPolicy))
        {
            Problem("restart_policy", $"'{RestartPolicy}' is not a restart policy: use always, on-failure or never.");
        }

        if (string.IsNullOrWhiteSpace(FilePath))
        {
            Problem("file_path", "No program given: name the program to run.");
        }
        else if (checkFiles && ExecutableResolver.Resolve(FilePath) is null)
        {
            Problem("file_path", $"The program '{FilePath}' was not found or is not executable. Give a full path, or a program on PATH.");
        }

        if (Arguments is null || Arguments.Any(a => a is null))
        {
            Problem("arguments", "Arguments must be a list of strings without nulls.");
        }

        if (Environment is null)
        {
            Problem("environment", "The environment must be an object of names to values (use {} for none).");
        }
        else
        {
            foreach (var key in Environment.Keys.Where(k => string.IsNullOrEmpty(k) || k.Contains('=') || k.Contains('\0')))
            {
                Problem("environment", $"'{key}' is not a valid environment variable name: it must be non-empty and hold no '=' or NUL.");
            }
        }

        if (RunId is not null && !StateDirectory.IsValidRunId(RunId))
        {
            Problem("run_id", $"'{RunId}' is not a valid run id: use 1 to 64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.");
        }

        if (WorkingDirectory is not null && checkFiles && !Directory.Exists(WorkingDirectory))
        {
            Problem("working_directory", $"The working directory '{WorkingDirectory}' does not exist. Create it, or leave it out to use the state directory.");
        }

        Positive("backoff_initial_ms", BackoffInitialMs, allowZero: true);
        Positive("backoff_max_ms", BackoffMaxMs, allowZero: true);
        if (BackoffMaxMs < BackoffInitialMs)
        {
            Problem("backoff_max_ms", $"must be at least backoff_initial_ms ({BackoffInitialMs}); was {BackoffMaxMs}.");
        }

        Positive("backoff_reset_after_ms", BackoffResetAfterMs, allowZero: false);
        Positive("circuit_max_restarts", CircuitMaxRestarts, allowZero: true);
        Positive("circuit_window_ms", CircuitWindowMs, allowZero: false);
        Positive("stop_timeout_ms", StopTimeoutMs, allowZero: true);
        Positive("startup_grace_ms", StartupGraceMs, allowZero: true);
        Positive("startup_timeout_ms", StartupTimeoutMs, allowZero: false);
        Positive("hang_timeout_ms", HangTimeoutMs, allowZero: true);
        Positive("health_interval_ms", HealthIntervalMs, allowZero: false);
        Positive("health_timeout_ms", HealthTimeoutMs, allowZero: false);
        Positive("health_failure_threshold", HealthFailureThreshold, allowZero: false);
        Positive("alert_min_interval_ms", AlertMinIntervalMs, allowZero: true);

        if (HealthUrl is not null && !IsHttpUrl(HealthUrl))
        {
            Problem("health_url", $"'{HealthUrl}' is not an absolute http or https URL.");
        }

        if (AlertWebhookUrl is not null && !IsHttpUrl(AlertWebhookUrl))
        {
            Problem("alert_webhook_url", $"'{AlertWebhookUrl}' is not an absolute http or https URL.");
        }

        if (AlertCommand is not null && (AlertCommand.Count == 0 || string.IsNullOrWhiteSpace(AlertCommand[0])))
        {
            Problem("alert_command", "The alert command must name a program (and may add arguments).");
        }

        foreach (var code in NoRestartExitCodes.Where(c => !IsNoRestartExitCode(c)).Distinct())
        {
            Problem("no_restart_exit_codes",
                $"{code} cannot be an exit code no restart fixes: use 1 to 128 or 193 to 255 (0 is success, and 129 to 192 read as a death by signal 1 to 64).");
        }

        if (Port is { } port && port is < 1 or > 65535)
        {
            Problem("port", $"must be between 1 and 65535; was {port}.");
        }

        if (LogMaxBytes < 4096)
        {
            Problem("log_max_bytes", $"must be at least 4096; was {LogMaxBytes}.");
        }

        if (LogRateLimitBytesPerSecond is < 0 or (> 0 and < 4096))
        {
            Problem("log_rate_limit_bytes_per_second", $"must be 0 (no limit) or at least 4096; was {LogRateLimitBytesPerSecond}.");
        }

        if (LogMaxFiles is < 0 or > 100)
        {
            Problem("log_max_files", $"must be between 0 and 100; was {LogMaxFiles}.");
        }

        if (Nice is { } nice && nice is < -20 or > 19)
        {
            Problem("nice", $"must be between -20 and 19; was {nice}.");
        }

        if (RunAsUser is not null && checkFiles)
        {
            if (UserAccount.Find(RunAsUser) is null)
            {
                Problem("run_as_user", $"There is no user '{RunAsUser}' on this machine.");
            }
            else if (!UserAccount.IsRoot)
            {
                Problem("run_as_user", $"Running a service as '{RunAsUser}' needs a supervisor that runs as root; this one runs as '{System.Environment.UserName}'. Leave -RunAsUser out, or start as root.");
            }
        }

        Slurm?.Validate(source, problems);
        if (Slurm is not null && Kind == ServiceKind.Dashboard)
        {
            problems.Add(new ConfigurationProblem(source, null, "slurm", "A dashboard runs where its users browse, not as a cluster job: start it locally over the shared state directory."));
        }

        return problems.Count == 0 ? this : throw new ConfigurationException(problems) { Service = Name, Path = source };

        void Positive(string key, long value, bool allowZero)
        {
            if (value < 0 || (!allowZero && value == 0))
            {
                Problem(key, allowZero ? $"must not be negative; was {value}." : $"must be greater than 0; was {value}.");
            }
        }
    }

    /// <summary>True when <paramref name="code"/> can be listed in <see cref="NoRestartExitCodes"/>: 1–128 or 193–255.</summary>
    public static bool IsNoRestartExitCode(int code) => code is (>= 1 and <= 128) or (>= 193 and <= 255);

    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
