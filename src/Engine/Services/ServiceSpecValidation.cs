using System.Text.RegularExpressions;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Validation of a <see cref="ServiceSpec"/> (and its <see cref="SlurmJobOptions"/>): every field, and, when asked,
/// what the spec names on this machine (program, working directory, user). It lives here rather than on the spec
/// because it reaches the platform and the error types, and the documents in Models depend on nothing above them;
/// as an extension, call sites keep reading <c>spec.Validate()</c>.
/// </summary>
public static partial class ServiceSpecValidation
{
    /// <summary>
    /// Checks every field of <paramref name="spec"/> and reports all problems together.
    /// </summary>
    /// <param name="spec">The spec.</param>
    /// <param name="source">The file the spec came from, named in the problems; null when it was built in memory.</param>
    /// <param name="checkFiles">Also check that the program and working directory exist on this machine (off when the spec is meant for another host).</param>
    /// <returns><paramref name="spec"/>, when valid.</returns>
    /// <exception cref="ConfigurationException">One or more fields are invalid; every problem is listed.</exception>
    public static ServiceSpec Validate(this ServiceSpec spec, string? source = null, bool checkFiles = true)
    {
        var problems = new List<ConfigurationProblem>();
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(source, null, key, message));

        if (!ServiceName.IsValid(spec.Name))
        {
            Problem("name", $"'{spec.Name}' is not a valid service name: use 1 to 63 characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.");
        }

        if (!Enum.IsDefined(spec.Kind))
        {
            Problem("kind", $"'{spec.Kind}' is not a service kind: use training, dashboard or program.");
        }

        if (!Enum.IsDefined(spec.RestartPolicy))
        {
            Problem("restart_policy", $"'{spec.RestartPolicy}' is not a restart policy: use always, on-failure or never.");
        }

        if (string.IsNullOrWhiteSpace(spec.FilePath))
        {
            Problem("file_path", "No program given: name the program to run.");
        }
        else if (checkFiles && ExecutableResolver.Resolve(spec.FilePath) is null)
        {
            Problem("file_path", $"The program '{spec.FilePath}' was not found or is not executable. Give a full path, or a program on PATH.");
        }

        if (spec.Arguments is null || spec.Arguments.Any(a => a is null))
        {
            Problem("arguments", "Arguments must be a list of strings without nulls.");
        }

        if (spec.Environment is null)
        {
            Problem("environment", "The environment must be an object of names to values (use {} for none).");
        }
        else
        {
            foreach (var key in spec.Environment.Keys.Where(k => string.IsNullOrEmpty(k) || k.Contains('=') || k.Contains('\0')))
            {
                Problem("environment", $"'{key}' is not a valid environment variable name: it must be non-empty and hold no '=' or NUL.");
            }
        }

        if (spec.RunId is not null && !State.StateDirectory.IsValidRunId(spec.RunId))
        {
            Problem("run_id", $"'{spec.RunId}' is not a valid run id: use 1 to 64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.");
        }

        if (spec.WorkingDirectory is not null && checkFiles && !Directory.Exists(spec.WorkingDirectory))
        {
            Problem("working_directory", $"The working directory '{spec.WorkingDirectory}' does not exist. Create it, or leave it out to use the state directory.");
        }

        Positive("backoff_initial_ms", spec.BackoffInitialMs, allowZero: true);
        Positive("backoff_max_ms", spec.BackoffMaxMs, allowZero: true);
        if (spec.BackoffMaxMs < spec.BackoffInitialMs)
        {
            Problem("backoff_max_ms", $"must be at least backoff_initial_ms ({spec.BackoffInitialMs}); was {spec.BackoffMaxMs}.");
        }

        Positive("backoff_reset_after_ms", spec.BackoffResetAfterMs, allowZero: false);
        Positive("circuit_max_restarts", spec.CircuitMaxRestarts, allowZero: true);
        Positive("circuit_window_ms", spec.CircuitWindowMs, allowZero: false);
        Positive("stop_timeout_ms", spec.StopTimeoutMs, allowZero: true);
        Positive("startup_grace_ms", spec.StartupGraceMs, allowZero: true);
        Positive("startup_timeout_ms", spec.StartupTimeoutMs, allowZero: false);
        Positive("hang_timeout_ms", spec.HangTimeoutMs, allowZero: true);
        Positive("health_interval_ms", spec.HealthIntervalMs, allowZero: false);
        Positive("health_timeout_ms", spec.HealthTimeoutMs, allowZero: false);
        Positive("health_failure_threshold", spec.HealthFailureThreshold, allowZero: false);
        Positive("alert_min_interval_ms", spec.AlertMinIntervalMs, allowZero: true);

        if (spec.HealthUrl is not null && !IsHttpUrl(spec.HealthUrl))
        {
            Problem("health_url", $"'{spec.HealthUrl}' is not an absolute http or https URL.");
        }

        if (spec.AlertWebhookUrl is not null && !IsHttpUrl(spec.AlertWebhookUrl))
        {
            Problem("alert_webhook_url", $"'{spec.AlertWebhookUrl}' is not an absolute http or https URL.");
        }

        if (spec.AlertCommand is not null && (spec.AlertCommand.Count == 0 || string.IsNullOrWhiteSpace(spec.AlertCommand[0])))
        {
            Problem("alert_command", "The alert command must name a program (and may add arguments).");
        }

        foreach (var code in spec.NoRestartExitCodes.Where(c => !ServiceSpec.IsNoRestartExitCode(c)).Distinct())
        {
            Problem("no_restart_exit_codes",
                $"{code} cannot be an exit code no restart fixes: use 1 to 128 or 193 to 255 (0 is success, and 129 to 192 read as a death by signal 1 to 64).");
        }

        if (spec.Port is { } port && port is < 1 or > 65535)
        {
            Problem("port", $"must be between 1 and 65535; was {port}.");
        }

        if (spec.LogMaxBytes < 4096)
        {
            Problem("log_max_bytes", $"must be at least 4096; was {spec.LogMaxBytes}.");
        }

        if (spec.LogRateLimitBytesPerSecond is < 0 or (> 0 and < 4096))
        {
            Problem("log_rate_limit_bytes_per_second", $"must be 0 (no limit) or at least 4096; was {spec.LogRateLimitBytesPerSecond}.");
        }

        if (spec.LogMaxFiles is < 0 or > 100)
        {
            Problem("log_max_files", $"must be between 0 and 100; was {spec.LogMaxFiles}.");
        }

        if (spec.GpuDevices is { } devices && (devices.Count == 0 || devices.Any(d => d is < 0 or > 255) || devices.Distinct().Count() != devices.Count))
        {
            Problem("gpu_devices", $"must list distinct GPU indices 0-255 (or be left out for every GPU); was [{string.Join(", ", devices)}].");
        }

        if (spec.GpuExclusive && spec.GpuDevices is null)
        {
            Problem("gpu_exclusive", "claims the devices of gpu_devices exclusively: list them, or leave gpu_exclusive out.");
        }

        if (spec.Nice is { } nice && nice is < -20 or > 19)
        {
            Problem("nice", $"must be between -20 and 19; was {nice}.");
        }

        if (spec.CpuPolicy is not (null or ServiceSpec.CpuPolicyIdle or ServiceSpec.CpuPolicyNormal))
        {
            Problem("cpu_policy", $"must be '{ServiceSpec.CpuPolicyIdle}' (SCHED_IDLE, the lowest CPU weight) or '{ServiceSpec.CpuPolicyNormal}'; was '{spec.CpuPolicy}'.");
        }

        if (spec.HeartbeatIntervalMs is < 1000 or > 60_000)
        {
            Problem("heartbeat_interval_ms", $"must be between 1000 and 60000 (readers call a supervisor gone after {Status.Liveness.StaleHeartbeats} missed heartbeats); was {spec.HeartbeatIntervalMs}.");
        }

        if (spec.CheckpointRetentionRuns is < 1 or > 10_000)
        {
            Problem("checkpoint_retention_runs", $"must be between 1 and 10000 runs (leave it out to keep every run's checkpoints); was {spec.CheckpointRetentionRuns}.");
        }

        if (spec.CheckpointRetentionRuns is not null && spec.Kind != ServiceKind.Training)
        {
            Problem("checkpoint_retention_runs", "applies to trainers only (kind training): other services have no runs.");
        }

        if (spec.RunAsUser is not null && checkFiles)
        {
            if (UserAccount.Find(spec.RunAsUser) is null)
            {
                Problem("run_as_user", $"There is no user '{spec.RunAsUser}' on this machine.");
            }
            else if (!UserAccount.IsRoot)
            {
                Problem("run_as_user", $"Running a service as '{spec.RunAsUser}' needs a supervisor that runs as root; this one runs as '{System.Environment.UserName}'. Leave -RunAsUser out, or start as root.");
            }
            else if (spec.Kind == ServiceKind.Dashboard && Landlock.AbiVersion < 1)
            {
                Problem("run_as_user", "A dashboard runs as another user only confined by Landlock (Linux 5.13 or later with Landlock enabled), which this kernel does not offer. Run the dashboard as the state directory's owner.");
            }
            else if (spec.Kind != ServiceKind.Dashboard && UserAccount.Find(spec.RunAsUser) is { } account && ExecutableResolver.Resolve(spec.FilePath) is { } program
                     && account.CannotRun(program) is { } blocked)
            {
                Problem("run_as_user", $"'{account.Name}' cannot run '{program}': {blocked}. Install the module (or the program) where that user can read it, e.g. under /opt or /usr/local, or leave -RunAsUser out.");
            }
            else if (spec.Kind != ServiceKind.Dashboard && UserAccount.Find(spec.RunAsUser) is { } reader
                     && NeededFiles(spec).Select(f => (File: f, Blocked: reader.CannotRead(f))).FirstOrDefault(n => n.Blocked is not null) is { File: { } file, Blocked: { } closed })
            {
                Problem("run_as_user", $"'{reader.Name}' cannot read '{file}', which the service needs: {closed}. Put it where that user can read it, or leave -RunAsUser out.");
            }
        }

        if (spec.Slurm is { } slurm)
        {
            ValidateSlurm(slurm, source, problems);
        }

        if (spec.Slurm is not null && spec.Kind == ServiceKind.Dashboard)
        {
            problems.Add(new ConfigurationProblem(source, null, "slurm", "A dashboard runs where its users browse, not as a cluster job: start it locally over the shared state directory."));
        }

        return problems.Count == 0 ? spec : throw new ConfigurationException(problems) { Service = spec.Name, Path = source };

        void Positive(string key, long value, bool allowZero)
        {
            if (value < 0 || (!allowZero && value == 0))
            {
                Problem(key, allowZero ? $"must not be negative; was {value}." : $"must be greater than 0; was {value}.");
            }
        }
    }


    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>Adds every problem of <paramref name="slurm"/> to <paramref name="problems"/> (keys are prefixed <c>slurm.</c>).</summary>
    private static void ValidateSlurm(SlurmJobOptions slurm, string? source, List<ConfigurationProblem> problems)
    {
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(source, null, "slurm." + key, message));

        if (slurm.Partition is not null && !SlurmNamePattern().IsMatch(slurm.Partition))
        {
            Problem("partition", $"'{slurm.Partition}' is not a partition name: use letters, digits, '_', '-' and '.' (several separated by ',').");
        }

        if (slurm.Account is not null && !SlurmNamePattern().IsMatch(slurm.Account))
        {
            Problem("account", $"'{slurm.Account}' is not an account name: use letters, digits, '_', '-' and '.'.");
        }

        if (slurm.Gpus is < 0 or > 64)
        {
            Problem("gpus", $"must be between 0 and 64 GPUs per node; was {slurm.Gpus}.");
        }

        if (slurm.CpusPerTask is { } cpus && cpus is < 1 or > 4096)
        {
            Problem("cpus_per_task", $"must be between 1 and 4096; was {cpus}.");
        }

        if (slurm.MemoryMb is { } mem && mem < 1)
        {
            Problem("memory_mb", $"must be at least 1 MB; was {mem}.");
        }

        if (slurm.TimeLimit is not null && !SlurmJobOptions.TimeLimitPattern().IsMatch(slurm.TimeLimit.Trim()))
        {
            Problem("time_limit", $"'{slurm.TimeLimit}' is not a Slurm time limit: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED.");
        }

        if (slurm.SignalBeforeLimitSeconds is < 0 or > 65_535)
        {
            Problem("signal_before_limit_seconds", $"must be between 0 and 65535 (Slurm's bound); was {slurm.SignalBeforeLimitSeconds}.");
        }
        else if (SlurmJobOptions.TimeLimitSeconds(slurm.TimeLimit) is { } seconds && slurm.SignalBeforeLimitSeconds >= seconds)
        {
            Problem("signal_before_limit_seconds",
                $"the checkpoint signal {slurm.SignalBeforeLimitSeconds} s ahead of a {seconds} s time limit would come before the job has worked at all: give a longer -TimeLimit or a smaller lead.");
        }

        foreach (var argument in slurm.ExtraArguments ?? [])
        {
            if (string.IsNullOrWhiteSpace(argument) || !argument.StartsWith('-') || argument.Contains('\n') || argument.Contains('\0'))
            {
                Problem("extra_arguments", $"'{argument}' is not an sbatch option: each must start with '-' (like --qos=high), on one line.");
                continue;
            }

            var name = argument.Split('=', 2)[0];
            if (SlurmJobOptions.ReservedOptions.Contains(name, StringComparer.Ordinal) || SlurmJobOptions.ReservedOptions.Any(r => r.Length == 2 && name.StartsWith(r, StringComparison.Ordinal) && name.Length > 2))
            {
                Problem("extra_arguments", $"'{argument}' sets what StabilityTools sets itself ({string.Join(", ", SlurmJobOptions.ReservedOptions)}): leave it out.");
            }
        }
    }

    // \A…\z, not ^…$: "$" also matches before a final newline, which would reach sbatch inside an option.
    [GeneratedRegex(@"\A[A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*\z")]
    private static partial Regex SlurmNamePattern();

    // The files a program run as another user must read besides itself: the built-in host's .dll under dotnet and a
    // --config file.
    private static IEnumerable<string> NeededFiles(ServiceSpec spec)
    {
        for (var i = 0; i < spec.Arguments.Count; i++)
        {
            var argument = spec.Arguments[i];
            var needed = argument.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || (i > 0 && spec.Arguments[i - 1] == "--config");
            if (needed && Path.IsPathRooted(argument) && File.Exists(argument))
            {
                yield return argument;
            }
        }
    }
}
