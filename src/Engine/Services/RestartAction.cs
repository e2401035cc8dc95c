namespace StabilityTools.Engine.Services;

/// <summary>What a supervisor does after its service exited on its own.</summary>
public enum RestartAction
{
    /// <summary>Start it again after <see cref="RestartDecision.Delay"/>.</summary>
    Restart,

    /// <summary>It finished its work (exit code 0 under <c>on-failure</c> or <c>never</c>): state <c>completed</c>.</summary>
    Complete,

    /// <summary>Give up: the circuit is open, the exit code is fatal, or the policy is <c>never</c>.</summary>
    Fatal,
}
