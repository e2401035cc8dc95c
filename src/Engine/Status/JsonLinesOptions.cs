namespace StabilityTools.Engine.Status;

/// <summary>Options of a <see cref="JsonLinesLog{T}"/>: size-based rotation with a bounded number of files.</summary>
public sealed class JsonLinesOptions
{
    /// <summary>Rotate when the current file would grow past this many bytes. Default 16 MiB.</summary>
    public long MaxFileBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>How many rotated files (<c>.1</c> … <c>.N</c>) to keep beside the current one. Default 3.</summary>
    public int RetainedFiles { get; init; } = 3;

    /// <summary>Flush each record to stable storage. Default false: a crash may lose the last records, never tear earlier ones.</summary>
    public bool Fsync { get; init; }

    /// <summary>How long an appender waits for the lock. Default 5 s.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest single line a reader accepts; longer lines are skipped. Default 1 MiB.</summary>
    public int MaxRecordBytes { get; init; } = 1024 * 1024;

    /// <summary>The defaults.</summary>
    public static JsonLinesOptions Default { get; } = new();

    /// <summary>Checks every option and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public JsonLinesOptions Validate()
    {
        var problems = new List<string>();
        if (MaxFileBytes < 1024)
        {
            problems.Add($"{nameof(MaxFileBytes)} must be at least 1024 (was {MaxFileBytes}).");
        }

        if (RetainedFiles is < 0 or > 100)
        {
            problems.Add($"{nameof(RetainedFiles)} must be between 0 and 100 (was {RetainedFiles}).");
        }

        if (MaxRecordBytes < 64)
        {
            problems.Add($"{nameof(MaxRecordBytes)} must be at least 64 (was {MaxRecordBytes}).");
        }

        return problems.Count == 0 ? this : throw new ArgumentException(string.Join(" ", problems));
    }
}
