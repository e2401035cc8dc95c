namespace StabilityTools.Engine.Errors;

/// <summary>The exclusive lock on a status file was not obtained within the bounded wait.</summary>
public sealed class LockTimeoutException : ProcessCommunicationException
{
    /// <summary>Creates the exception for the lock file at <paramref name="lockPath"/>.</summary>
    public LockTimeoutException(string lockPath, TimeSpan waited)
        : base($"Timed out after {waited.TotalMilliseconds:0} ms waiting for the lock '{lockPath}'. " +
               "Another process holds it; if that process is stuck, stop it (the OS frees the lock when it exits). " +
               "Never delete the lock file by hand.")
    {
        Path = lockPath;
        Waited = waited;
    }

    /// <summary>How long the caller waited before giving up.</summary>
    public TimeSpan Waited { get; }

    /// <inheritdoc />
    public override string ErrorId => "LockTimeout";
}
