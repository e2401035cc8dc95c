using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Models;

/// <summary>A command a caller sends to a supervisor through <c>control.json</c>.</summary>
public enum ControlCommand
{
    /// <summary>Stop the service (two-stage stop) and end supervision.</summary>
    [JsonStringEnumMemberName("stop")]
    Stop,

    /// <summary>Stop the service and start it again at once; closes an open circuit.</summary>
    [JsonStringEnumMemberName("restart")]
    Restart,

    /// <summary>Re-read <c>spec.json</c> for limits, timeouts, log sizes and alerting; takes effect without a restart.</summary>
    [JsonStringEnumMemberName("reload-limits")]
    ReloadLimits,
}
