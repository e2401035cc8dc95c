namespace StabilityTools.Engine.Models;

/// <summary>The lifecycle state of a supervised service (docs/status-files.md).</summary>
public enum ServiceState
{
    /// <summary>The state could not be determined: the supervisor is gone (stale heartbeat) or the status is unreadable.</summary>
    Unknown,

    /// <summary>A cluster scheduler holds the service's job back (queued, held, or requeued); see the job's reason.</summary>
    Pending,

    /// <summary>The service process is being launched.</summary>
    Starting,

    /// <summary>The service process is alive.</summary>
    Running,

    /// <summary>A stop is in progress: the graceful signal was sent.</summary>
    Stopping,

    /// <summary>The service was stopped on request and nothing of it is left.</summary>
    Stopped,

    /// <summary>The service finished its work and exited with code 0 (a trainer at the end of its run).</summary>
    Completed,

    /// <summary>The service exited and is waiting for its restart delay.</summary>
    Backoff,

    /// <summary>The supervisor gave up (too many restarts in the window): the circuit is open.</summary>
    Fatal,
}
