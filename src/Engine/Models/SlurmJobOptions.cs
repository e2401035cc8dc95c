using System.Globalization;
using System.Text.RegularExpressions;

namespace StabilityTools.Engine.Models;

/// <summary>
/// How a service runs as a Slurm batch job (<c>spec.json</c> key <c>slurm</c>; absent for a local service). The job
/// runs the same supervisor against the same state directory, so that directory must be on storage that the submit
/// host and the nodes share. Immutable; validated with the spec (<see cref="Services.ServiceSpecValidation"/>).
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

    [GeneratedRegex(@"\A(?:(?<unlimited>UNLIMITED|INFINITE|infinite|unlimited)|(?<days>\d+)-(?<dh>\d{1,2})(?::(?<dm>\d{1,2})(?::(?<ds>\d{1,2}))?)?|(?<h>\d+):(?<hm>\d{1,2}):(?<hs>\d{1,2})|(?<m>\d+)(?::(?<s>\d{1,2}))?)\z")]
    internal static partial Regex TimeLimitPattern();
}
