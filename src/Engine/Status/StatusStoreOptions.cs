namespace StabilityTools.Engine.Status;

/// <summary>Options of a <see cref="StatusStore"/>. Plain values with documented defaults; validated once.</summary>
public sealed class StatusStoreOptions
{
    /// <summary>Flush the file to stable storage before the rename. Default true. Turning it off keeps
    /// atomicity against crashed processes but not against power loss.</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>How long a writer waits for the lock before it raises <see cref="Errors.LockTimeoutException"/>. Default 5 s.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Documents larger than this are reported as <see cref="Models.ReadState.Oversized"/> and not read. Default 4 MiB.</summary>
    public int MaxDocumentBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How often a reader retries a transient I/O error before reporting <see cref="Models.ReadState.Unreadable"/>. Default 3.</summary>
    public int ReadRetries { get; init; } = 3;

    /// <summary>The clock for <c>written_at</c> and staleness. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The defaults.</summary>
    public static StatusStoreOptions Default { get; } = new();

    /// <summary>Checks every option and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public StatusStoreOptions Validate()
    {
        var problems = new List<string>();
        if (LockTimeout < TimeSpan.Zero)
        {
            problems.Add($"{nameof(LockTimeout)} must not be negative (was {LockTimeout}).");
        }

        if (MaxDocumentBytes < 64)
        {
            problems.Add($"{nameof(MaxDocumentBytes)} must be at least 64 (was {MaxDocumentBytes}).");
        }

        if (ReadRetries < 0)
        {
            problems.Add($"{nameof(ReadRetries)} must not be negative (was {ReadRetries}).");
        }

        return problems.Count == 0 ? this : throw new ArgumentException(string.Join(" ", problems));
    }
}
