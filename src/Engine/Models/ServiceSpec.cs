namespace StabilityTools.Engine.Models;

/// <summary>
/// <c>services/&lt;name&gt;/spec.json</c> (schema <c>service_spec/1</c>): what a supervisor runs and how it treats it.
/// Immutable; the caller writes it, the supervisor reads it at start and on <c>reload-limits</c>.
/// Build one with <see cref="ForKind"/> to get the defaults of docs/status-files.md for its kind,
/// change it with <c>with</c>, and validate it before use (<c>spec.Validate()</c>, <see cref="Services.ServiceSpecValidation"/>, which
/// checks it against this machine too).
/// </summary>
public sealed partial record ServiceSpec : StatusDocument, IStatusSchema
{
    /// <summary>The exit code the dashboard uses when its port is taken.</summary>
    public const int PortInUseExitCode = 98;

    /// <summary>EX_CONFIG (sysexits.h): the exit code of the trainer and the dashboard for a configuration error.</summary>
    public const int ConfigurationErrorExitCode = 78;

    /// <inheritdoc />
    public static string SchemaName => "service_spec";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The service name (see <see cref="ServiceName.IsValid"/>).</summary>
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

    /// <summary>The longest wait for a first healthy answer from <see cref="HealthUrl"/> (or a first heartbeat, with <see cref="ReadyOnHeartbeat"/>) at start. Default 30000 ms.</summary>
    public int StartupTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// The service says when it is ready: it is <c>running</c> at its first heartbeat in <c>data/training_status.json</c>
    /// that carries its own pid, not after <see cref="StartupGraceMs"/> (the built-in trainer). One that beats none
    /// within <see cref="StartupTimeoutMs"/> counts as running then. Ignored with a <see cref="HealthUrl"/>, which
    /// decides. Default false (a spec written without the field reads as false: the grace decides).
    /// </summary>
    public bool ReadyOnHeartbeat { get; init; }

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

    /// <summary>
    /// The GPUs (indices as <c>nvidia-smi</c> numbers them) this service is given, instead of every GPU (or its quota's
    /// device): a sweep's trial on a device of its own. Null (the default): every GPU.
    /// </summary>
    public IReadOnlyList<int>? GpuDevices { get; init; }

    /// <summary>Claim <see cref="GpuDevices"/> exclusively: a start that would share one with a running service is refused. Default false.</summary>
    public bool GpuExclusive { get; init; }

    /// <summary>A command (program and arguments) run with the event JSON on stdin and in <c>STABILITY_EVENT</c> on fatal, hang and limit events. Null: none.</summary>
    public IReadOnlyList<string>? AlertCommand { get; init; }

    /// <summary>A URL that receives the event JSON by POST on fatal, hang and limit events. Null: none.</summary>
    public string? AlertWebhookUrl { get; init; }

    /// <summary>The least time between two alerts; alerts in between are counted and reported with the next. Default 60000 ms.</summary>
    public int AlertMinIntervalMs { get; init; } = 60_000;

    /// <summary>Run the supervisor as a Slurm batch job with these options. Null (the default): a local process.</summary>
    public SlurmJobOptions? Slurm { get; init; }

    /// <summary>The run it works on (<c>runs/&lt;id&gt;/</c>; <c>STABILITY_RUN_ID</c>, <c>STABILITY_RUN_DIR</c>): restarts resume it. Null: none.</summary>
    public string? RunId { get; init; }

    /// <summary>The experiment the run belongs to (recorded in its <c>run.json</c>); null for none.</summary>
    public string? Experiment { get; init; }

    /// <summary>Labels recorded in the run's <c>run.json</c>.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>
    /// Keep the checkpoints of this service's newest N runs only: a new run's start removes those of its older finished
    /// runs (records, metrics and final models stay). 1–10000; null (the default) keeps every run's checkpoints.
    /// </summary>
    public int? CheckpointRetentionRuns { get; init; }

    /// <summary>
    /// A spec with the defaults of <paramref name="kind"/>: training restarts on failure and is judged hung after
    /// 120 s without progress; a dashboard restarts always, runs under <c>SCHED_IDLE</c> (nice 10 when its floor lifts
    /// it) with all GPUs hidden, is probed with a 1 s timeout, and treats exit code 98 (port in use) as fatal. Any other
    /// program keeps the normal policy unless its spec asks for <c>idle</c>: without a health probe nothing would lift a
    /// starved one (a data feeder the trainer waits for, for one).
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
            RestartPolicy = RestartPolicy.Always, Nice = 10, CpuPolicy = CpuPolicyIdle, HideGpus = true, FatalExitCodes = [PortInUseExitCode],
            // A dashboard answers /healthz in milliseconds; a second without an answer on a fresh connection is a saturated one.
            HealthTimeoutMs = 1000,
        },
        // A sweep controller restarts when it dies (a kill, a crash) and ends with its sweep: a clean exit is the sweep
        // being over, which must not start it again. It gives its trials GPUs; it holds none itself.
        ServiceKind.Sweep => new ServiceSpec
        {
            Name = name, Kind = kind, FilePath = filePath, Arguments = arguments?.ToArray() ?? [],
            RestartPolicy = RestartPolicy.OnFailure, HideGpus = true, StartupGraceMs = 300, BackoffInitialMs = 200,
            CircuitMaxRestarts = 20,
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
        WorkingDirectory = WorkingDirectory, RunAsUser = RunAsUser, Nice = Nice, CpuPolicy = CpuPolicy, HideGpus = HideGpus, HealthUrl = HealthUrl,
        GpuDevices = GpuDevices, GpuExclusive = GpuExclusive,
        Port = Port, AlertCommand = AlertCommand, AlertWebhookUrl = AlertWebhookUrl, Slurm = Slurm,
        RunId = RunId, Experiment = Experiment, Tags = Tags, CheckpointRetentionRuns = CheckpointRetentionRuns,
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
        Check(CpuPolicy == other.CpuPolicy, "cpu_policy");
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

    /// <summary>True when <paramref name="code"/> can be listed in <see cref="NoRestartExitCodes"/>: 1–128 or 193–255.</summary>
    public static bool IsNoRestartExitCode(int code) => code is (>= 1 and <= 128) or (>= 193 and <= 255);
}
