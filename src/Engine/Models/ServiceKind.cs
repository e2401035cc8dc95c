namespace StabilityTools.Engine.Models;

/// <summary>What a supervised service is; decides the defaults of its <see cref="ServiceSpec"/> and how it is judged hung.</summary>
public enum ServiceKind
{
    /// <summary>Any program. Never judged hung unless it beats the training heartbeat. Default restart policy <c>on-failure</c>.</summary>
    Program,

    /// <summary>The trainer (or any program that follows its status-file contract): hang detection watches <c>data/training_status.json</c>.</summary>
    Training,

    /// <summary>The dashboard: probed on its health URL, runs at low priority with every GPU hidden. Default restart policy <c>always</c>.</summary>
    Dashboard,

    /// <summary>
    /// A sweep's controller (<c>stability-sweep</c>): starts the sweep's trials as services of their own, each under its
    /// own supervisor, and records their progress in <c>sweeps/&lt;name&gt;/</c>. Its supervisor spares those trial
    /// supervisors when it ends or restarts the controller. Default restart policy <c>on-failure</c>; sees no GPU.
    /// </summary>
    Sweep,
}
