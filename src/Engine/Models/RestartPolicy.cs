using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Models;

/// <summary>When a supervisor restarts its service after the service exits on its own.</summary>
public enum RestartPolicy
{
    /// <summary>Restart after any exit, code 0 included.</summary>
    [JsonStringEnumMemberName("always")]
    Always,

    /// <summary>Restart after a non-zero exit code or a signal; an exit with code 0 is <c>completed</c>.</summary>
    [JsonStringEnumMemberName("on-failure")]
    OnFailure,

    /// <summary>Never restart: any exit ends supervision (<c>completed</c> for code 0, else <c>fatal</c>).</summary>
    [JsonStringEnumMemberName("never")]
    Never,
}
