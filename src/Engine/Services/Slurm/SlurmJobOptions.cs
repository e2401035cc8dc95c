using System.Globalization;
using System.Text.RegularExpressions;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.Services.Slurm;

/// <summary>
/// How a service runs as a Slurm batch job (<c>spec.json</c> key <c>slurm</c>; absent for a local service). The job
/// runs the same supervisor against the same state directory, so that directory must be on storage that the submit
/// host and the nodes share. Immutable; validated with the spec.
/// </summary>
public sealed partial record SlurmJobOptions
{
    /// <summary>The sbatch options StabilityTools sets itself; a pass-through option may not set them again.</summary>
    public static readonly IReadOnlyList<string> ReservedOptions =
        ["--wrap", "--output", "-o", "--error", "-e", "--parsable", "--job-name", "-J", "--signal", "--requeue", "--no-requeue", "--chdir", "-D"];

    /// <summary>The partition (<c>--partition</c>); null: the cluster's default.</summary>
    public string? Partition { get; init; }

    /// <summary>GPUs per node (<c>--gres=gpu:N</c>); 0: none asked for.</summary>
    public int Gpus { get; init; }

    /// <summary>CPUs for the job's one task (<c>--cpus-per-task</c>); null: the cluster's default.</summary>
    public int? CpusPerTask { get; init; }

    /// <summary>Memory per node in MB (<c>--mem</c>); null: the cluster's default.</summary>
    public int? MemoryMb { get; init; }

    /// <summary>The time limit in a Slurm format (<c>minutes</c>, <c>HH:MM:SS</c>, <c>D-HH:MM</c>…; <c>--time</c>); null: the partition's.</summary>
    public string? TimeLimit { get; init; }

    /// <summary>The account charged (<c>--account</c>); null: the user's default.</summary>
    public string? Account { get; init; }

    /// <summary>Further sbatch options, passed as they are (<c>--qos=high</c>, <c>--constraint=a100</c>, <c>--hold</c>…).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// Seconds ahead of the time limit at which Slurm sends the supervisor SIGUSR1 (<c>--signal=B:USR1@N</c>): the
    /// trainer checkpoints and exits, and the job is requeued to go on from that checkpoint. Default 120.
    /// </summary>
    public int SignalBeforeLimitSeconds { get; init; } = 120;

    /// <summary>Submit the job requeueable (<c>--requeue</c>), so preemption and node failure resume it. Default true.</summary>
    public bool Requeue { get; init; } = true;

    /// <summary>The time limit in seconds, or null when none is set, it is unlimited, or it does not parse.</summary>
    public static long? TimeLimitSeconds(string? limit)
    {
        if (limit is null)
        {
            return null;
        }

        var match = TimeLimitPattern().Match(limit.Trim());
        if (!match.Success || match.Groups["unlimited"].Success)
        {
            return null;
        }

        long Part(string group) => match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        if (match.Groups["days"].Success)
        {
            // D-HH, D-HH:MM, D-HH:MM:SS
            return Part("days") * 86_400 + Part("dh") * 3600 + Part("dm") * 60 + Part("ds");
        }

        // H:M:S, else M or M:S (Slurm reads one colon as minutes:seconds)
        return match.Groups["h"].Success
            ? Part("h") * 3600 + Part("hm") * 60 + Part("hs")
            : Part("m") * 60 + Part("s");
    }

    /// <summary>Adds every problem of these options to <paramref name="problems"/> (keys are prefixed <c>slurm.</c>).</summary>
    internal void Validate(string? source, List<ConfigurationProblem> problems)
    {
        void Problem(string key, string message) => problems.Add(new ConfigurationProblem(source, null, "slurm." + key, message));

        if (Partition is not null && !NamePattern().IsMatch(Partition))
        {
            Problem("partition", $"'{Partition}' is not a partition name: use letters, digits, '_', '-' and '.' (several separated by ',').");
        }

        if (Account is not null && !NamePattern().IsMatch(Account))
        {
            Problem("account", $"'{Account}' is not an account name: use letters, digits, '_', '-' and '.'.");
        }

        if (Gpus is < 0 or > 64)
        {
            Problem("gpus", $"must be between 0 and 64 GPUs per node; was {Gpus}.");
        }

        if (CpusPerTask is { } cpus && cpus is < 1 or > 4096)
        {
            Problem("cpus_per_task", $"must be between 1 and 4096; was {cpus}.");
        }

        if (MemoryMb is { } mem && mem < 1)
        {
            Problem("memory_mb", $"must be at least 1 MB; was {mem}.");
        }

        if (TimeLimit is not null && !TimeLimitPattern().IsMatch(TimeLimit.Trim()))
        {
            Problem("time_limit", $"'{TimeLimit}' is not a Slurm time limit: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED.");
        }

        if (SignalBeforeLimitSeconds is < 0 or > 65_535)
        {
            Problem("signal_before_limit_seconds", $"must be between 0 and 65535 (Slurm's bound); was {SignalBeforeLimitSeconds}.");
        }
        else if (TimeLimitSeconds(TimeLimit) is { } seconds && SignalBeforeLimitSeconds >= seconds)
        {
            Problem("signal_before_limit_seconds",
                $"the checkpoint signal {SignalBeforeLimitSeconds} s ahead of a {seconds} s time limit would come before the job has worked at all: give a longer -TimeLimit or a smaller lead.");
        }

        foreach (var argument in ExtraArguments ?? [])
        {
            if (string.IsNullOrWhiteSpace(argument) || !argument.StartsWith('-') || argument.Contains('\n') || argument.Contains('\0'))
            {
                Problem("extra_arguments", $"'{argument}' is not an sbatch option: each must start with '-' (like --qos=high), on one line.");
                continue;
            }

            var name = argument.Split('=', 2)[0];
            if (ReservedOptions.Contains(name, StringComparer.Ordinal) || ReservedOptions.Any(r => r.Length == 2 && name.StartsWith(r, StringComparison.Ordinal) && name.Length > 2))
            {
                Problem("extra_arguments", $"'{argument}' sets what StabilityTools sets itself ({string.Join(", ", ReservedOptions)}): leave it out.");
            }
        }
    }

    // \A…\z, not ^…$: "$" also matches before a final newline, which would reach sbatch inside an option.
    [GeneratedRegex(@"\A[A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"\A(?:(?<unlimited>UNLIMITED|INFINITE|infinite|unlimited)|(?<days>\d+)-(?<dh>\d{1,2})(?::(?<dm>\d{1,2})(?::(?<ds>\d{1,2}))?)?|(?<h>\d+):(?<hm>\d{1,2}):(?<hs>\d{1,2})|(?<m>\d+)(?::(?<s>\d{1,2}))?)\z")]
    private static partial Regex TimeLimitPattern();
}
