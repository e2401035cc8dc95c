namespace StabilityTools.Engine.Services;

/// <summary>The outcome of <see cref="RestartTracker.OnExit"/>.</summary>
/// <param name="Action">What to do.</param>
/// <param name="Delay">For <see cref="RestartAction.Restart"/>: how long to wait first (zero: at once).</param>
/// <param name="Reason">A sentence for people: why.</param>
/// <param name="RestartsInWindow">Restarts counted in the circuit window, this one included.</param>
public sealed record RestartDecision(RestartAction Action, TimeSpan Delay, string Reason, int RestartsInWindow);
