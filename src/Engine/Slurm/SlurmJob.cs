using System.Globalization;

namespace StabilityTools.Engine.Slurm;

/// <summary>A Slurm job as <c>scontrol show job -o</c> describes it.</summary>
public sealed record SlurmJob
{
    /// <summary>The job id.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The job state in Slurm's words: <c>PENDING</c>, <c>RUNNING</c>, <c>COMPLETED</c>, <c>FAILED</c>, <c>CANCELLED</c>, <c>TIMEOUT</c>…</summary>
    public string State { get; init; } = "";

    /// <summary>Why it is pending (<c>Priority</c>, <c>Resources</c>, <c>BeginTime</c>, <c>JobHeldUser</c>…); null for <c>None</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>The nodes it runs on (Slurm's host list); null before it runs.</summary>
    public string? NodeList { get; init; }

    /// <summary>The node that runs the batch script (and so the supervisor); null before it runs.</summary>
    public string? BatchHost { get; init; }

    /// <summary>How many times it was requeued.</summary>
    public int Restarts { get; init; }

    /// <summary>The exit code and signal, <c>code:signal</c>.</summary>
    public string? ExitCode { get; init; }

    /// <summary>When it was submitted (the cluster's local time).</summary>
    public DateTime? SubmitTime { get; init; }

    /// <summary>When it started, or is expected to start while pending (the cluster's local time).</summary>
    public DateTime? StartTime { get; init; }

    /// <summary>True while the scheduler holds it back: pending, requeued, held or suspended.</summary>
    public bool IsPending => State is "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "SUSPENDED" or "RESV_DEL_HOLD";

    /// <summary>True while it has nodes: configuring, running, completing, signalling, stopped, resizing.</summary>
    public bool IsActive => State is "CONFIGURING" or "RUNNING" or "COMPLETING" or "SIGNALING" or "STAGE_OUT" or "STOPPED" or "RESIZING";

    /// <summary>True when it ended (completed, failed, cancelled, timed out, preempted, out of memory, node failure…).</summary>
    public bool IsFinished => !IsPending && !IsActive;

    /// <summary>Parses one line of <c>scontrol show job -o</c>; null when it does not describe a job.</summary>
    public static SlurmJob? Parse(string line)
    {
        var fields = ParseFields(line);
        if (!fields.TryGetValue("JobId", out var id) || id.Length == 0)
        {
            return null;
        }

        string? Field(string key) => fields.TryGetValue(key, out var value) && value.Length > 0 && value is not ("(null)" or "None" or "Unknown" or "N/A") ? value : null;
        DateTime? Time(string key) => Field(key) is { } value && DateTime.TryParseExact(value, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t) ? t : null;

        return new SlurmJob
        {
            JobId = id,
            // A state can carry a flag after '+' (CANCELLED+, RUNNING+...) in some versions.
            State = (Field("JobState") ?? "UNKNOWN").Split('+', 2)[0],
            Reason = Field("Reason"),
            NodeList = Field("NodeList"),
            BatchHost = Field("BatchHost"),
            Restarts = int.TryParse(Field("Restarts"), NumberStyles.None, CultureInfo.InvariantCulture, out var restarts) ? restarts : 0,
            ExitCode = Field("ExitCode"),
            SubmitTime = Time("SubmitTime"),
            StartTime = Time("StartTime"),
        };
    }

    /// <summary>
    /// Splits <c>Key=Value Key=Value …</c>. A value may hold spaces (a path, a comment): a word without a
    /// <c>Key=</c> of its own belongs to the value before it.
    /// </summary>
    internal static Dictionary<string, string> ParseFields(string line)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? last = null;
        foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && IsKey(word.AsSpan(0, equals)))
            {
                last = word[..equals];
                fields[last] = word[(equals + 1)..];
            }
            else if (last is not null)
            {
                fields[last] += " " + word;
            }
        }

        return fields;
    }

    private static bool IsKey(ReadOnlySpan<char> key)
    {
        if (!char.IsAsciiLetter(key[0]))
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or ':' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}
