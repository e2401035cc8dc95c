namespace StabilityTools.Engine.Models;

/// <summary>A supervisor's acknowledgement of a control request, carried in <c>status.json</c>.</summary>
/// <param name="RequestId">The <c>request_id</c> of the request acknowledged.</param>
/// <param name="Command">The command, e.g. <c>stop</c>.</param>
/// <param name="Outcome"><c>ok</c>, <c>rejected</c>, <c>refused</c> (the request file was not owned by the supervisor's user or root) or <c>failed</c>.</param>
/// <param name="At">When it was handled.</param>
/// <param name="Message">Details, e.g. why a request was rejected.</param>
public sealed record ControlAck(string RequestId, string Command, string Outcome, DateTimeOffset At, string? Message = null);
