using StabilityTools.Engine.Models;

namespace StabilityTools.Supervisor;

/// <summary>
/// Hang detection by progress (docs/status-files.md): armed only once the trainer's status carries the run's
/// pid, so a program that never beats a heartbeat is never judged hung; then a progress counter that stays put for
/// the hang timeout is a hang. The heartbeat timer checks; the loop resets it for each new run, hence the lock.
/// </summary>
internal sealed class HangDetector
{
    private readonly object _gate = new();
    private bool _armed;
    private long _progress = -1;
    private DateTimeOffset _since;

    /// <summary>Forgets the previous run: a new run is judged from its own first heartbeat.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _armed = false;
            _progress = -1;
        }
    }

    /// <summary>Looks at the trainer's latest status for the run with <paramref name="pid"/>.</summary>
    /// <param name="status">The trainer's status document, when there is one.</param>
    /// <param name="pid">The current run's pid.</param>
    /// <param name="now">The time now.</param>
    /// <param name="timeout">The hang timeout.</param>
    /// <param name="armedNow">True when this call armed detection (for the log).</param>
    /// <returns>Why the run is hung, or null. A hang is reported once per timeout.</returns>
    public string? Check(TrainingStatus? status, int pid, DateTimeOffset now, TimeSpan timeout, out bool armedNow)
    {
        armedNow = false;
        if (status is null || status.Pid != pid)
        {
            return null;
        }

        lock (_gate)
        {
            if (!_armed || status.Progress != _progress)
            {
                armedNow = !_armed;
                _armed = true;
                _progress = status.Progress;
                _since = now;
                return null;
            }

            var stalled = now - _since;
            if (stalled < timeout)
            {
                return null;
            }

            _since = now;
            return $"its progress has stayed at {_progress} for {stalled.TotalSeconds:0.#} s (hang_timeout_ms {timeout.TotalMilliseconds:0}).";
        }
    }
}
