using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;

namespace StabilityTools.Reporting;

/// <summary>The trainer's events for <c>events.jsonl</c>, in the name of the service it runs as.</summary>
/// <param name="service">The service name written in every event (<see cref="FromEnvironment"/> in the executable).</param>
internal sealed class TrainerEvents(string service)
{
    /// <summary>The variable in which a supervisor passes the name of the service it runs (<c>Start-TrainingProcess -Name exp2</c>: <c>exp2</c>).</summary>
    public const string ServiceVariable = "STABILITY_SERVICE";

    /// <summary>Events in the name of the built-in training service (<c>training</c>), for a trainer run outside a supervisor.</summary>
    public static TrainerEvents Default { get; } = new(BuiltInServices.TrainingName);

    /// <summary>The service the events are written as.</summary>
    public string Service { get; } = service;

    /// <summary>Events in the name <c>$STABILITY_SERVICE</c> gives, else <see cref="Default"/>'s.</summary>
    public static TrainerEvents FromEnvironment() =>
        Environment.GetEnvironmentVariable(ServiceVariable) is { Length: > 0 } name ? new TrainerEvents(name.Trim()) : Default;

    /// <summary>An event of this process, now.</summary>
    public StabilityEvent Create(string type, EventSeverity severity, string message, IReadOnlyDictionary<string, string>? data = null) => new()
    {
        Time = DateTimeOffset.UtcNow, Service = Service, Type = type, Severity = severity, Message = message, Pid = Environment.ProcessId,
        Host = Environment.MachineName, Data = data,
    };
}
