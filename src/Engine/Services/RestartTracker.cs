using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Services;

/// <summary>
/// The restart policy, exponential backoff and circuit breaker of one service (docs/status-files.md),
/// driven by an injected <see cref="TimeProvider"/> so that it is tested without sleeping.
/// </summary>
/// <remarks>
/// The first restart of a streak is immediate; each further one waits <c>backoff_initial_ms × 2^(n-2)</c>, capped
/// at <c>backoff_max_ms</c>. A run that lasted <c>backoff_reset_after_ms</c> ends the streak. An exit code in
/// <c>fatal_exit_codes</c> or <c>no_restart_exit_codes</c> is <see cref="RestartAction.Fatal"/> at once, whatever the
/// policy. More than <c>circuit_max_restarts</c> restarts within <c>circuit_window_ms</c> opens the circuit: the
/// decision is <see cref="RestartAction.Fatal"/> until <see cref="Reset"/> (a manual restart). Not thread-safe: one
/// supervisor loop owns it.
/// </remarks>
public sealed class RestartTracker
{
    private readonly TimeProvider _time;
    private readonly Queue<DateTimeOffset> _restarts = new();
    private ServiceSpec _spec;
    private DateTimeOffset? _runStartedAt;

    /// <summary>Creates a tracker for <paramref name="spec"/>.</summary>
    public RestartTracker(ServiceSpec spec, TimeProvider? time = null)
    {
        _spec = spec ?? throw new ArgumentNullException(nameof(spec));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Restarts in the current streak (0 after a healthy run or a reset).</summary>
    public int Streak { get; private set; }

    /// <summary>Restarts decided since the tracker was created (or reset), for <c>status.json</c>.</summary>
    public int TotalRestarts { get; private set; }

    /// <summary>Applies a reloaded spec; the streak and the circuit's history are kept.</summary>
    public void UpdateSpec(ServiceSpec spec) => _spec = spec ?? throw new ArgumentNullException(nameof(spec));

    /// <summary>Notes that a run started now (its length decides whether the streak resets).</summary>
    public void RecordStart() => _runStartedAt = _time.GetUtcNow();

    /// <summary>Closes the circuit and ends the streak (a manual restart or a new start).</summary>
    public void Reset()
    {
        _restarts.Clear();
        Streak = 0;
    }

    /// <summary>The delay of the <paramref name="streak"/>-th restart in a row (1-based) under <paramref name="spec"/>.</summary>
    public static TimeSpan DelayFor(ServiceSpec spec, int streak)
    {
        if (streak <= 1)
        {
            return TimeSpan.Zero;
        }

        // Doubling from the initial delay; the exponent is capped so the arithmetic cannot overflow.
        var factor = Math.Pow(2, Math.Min(streak - 2, 30));
        var ms = Math.Min(spec.BackoffInitialMs * factor, spec.BackoffMaxMs);
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Decides what follows an exit the supervisor did not ask for (a crash, an exit, or a kill after a hang).</summary>
    /// <param name="exitCode">The exit code (for a signal, 128 + the signal, as .NET reports it).</param>
    /// <param name="signal">The signal that ended the process, when known.</param>
    public RestartDecision OnExit(int exitCode, int? signal = null)
    {
        var now = _time.GetUtcNow();
        var how = signal is { } s ? $"was killed by signal {s}" : $"exited with code {exitCode}";
        if (_spec.FatalExitCodes.Contains(exitCode) && signal is null)
        {
            return new RestartDecision(RestartAction.Fatal, TimeSpan.Zero,
                exitCode == ServiceSpec.PortInUseExitCode
                    ? $"The service {how}: its port{(_spec.Port is { } p ? $" {p}" : "")} is in use by another process. Free the port or choose another one."
                    : $"The service {how}, which its spec lists as fatal (fatal_exit_codes).",
                CountInWindow(now));
        }

        if (signal is null && _spec.NoRestartExitCodes.Contains(exitCode))
        {
            return new RestartDecision(RestartAction.Fatal, TimeSpan.Zero,
                exitCode == ServiceSpec.ConfigurationErrorExitCode
                    ? $"The service {how} (EX_CONFIG, a configuration error), which no restart can fix (no_restart_exit_codes): it was not restarted. Fix its configuration (its log says what is wrong: Get-StabilityLog), then start it again."
                    : $"The service {how}, which its spec lists as one no restart can fix (no_restart_exit_codes): it was not restarted. Fix the cause (see its log: Get-StabilityLog), then start it again.",
                CountInWindow(now));
        }

        var succeeded = exitCode == 0 && signal is null;
        switch (_spec.RestartPolicy)
        {
            case RestartPolicy.Never:
                return succeeded
                    ? new RestartDecision(RestartAction.Complete, TimeSpan.Zero, "The service exited with code 0.", CountInWindow(now))
                    : new RestartDecision(RestartAction.Fatal, TimeSpan.Zero, $"The service {how}; its restart policy is 'never'.", CountInWindow(now));
            case RestartPolicy.OnFailure when succeeded:
                return new RestartDecision(RestartAction.Complete, TimeSpan.Zero, "The service exited with code 0.", CountInWindow(now));
        }

        if (_runStartedAt is { } started && now - started >= _spec.BackoffResetAfter)
        {
            Streak = 0;
        }

        var inWindow = CountInWindow(now);
        if (inWindow >= _spec.CircuitMaxRestarts)
        {
            return new RestartDecision(RestartAction.Fatal, TimeSpan.Zero,
                $"The service {how} after {inWindow} restarts within {_spec.CircuitWindowMs / 1000.0:0.#} s: the circuit is open. " +
                "Fix the cause (see its log), then run Restart-StabilityProcess or start it again.",
                inWindow);
        }

        Streak++;
        TotalRestarts++;
        _restarts.Enqueue(now);
        var delay = DelayFor(_spec, Streak);
        return new RestartDecision(RestartAction.Restart, delay,
            delay == TimeSpan.Zero ? $"The service {how}; restarting at once." : $"The service {how}; restarting in {delay.TotalSeconds:0.###} s.",
            inWindow + 1);
    }

    private int CountInWindow(DateTimeOffset now)
    {
        while (_restarts.Count > 0 && now - _restarts.Peek() >= _spec.CircuitWindow)
        {
            _restarts.Dequeue();
        }

        return _restarts.Count;
    }
}
