using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.State;

/// <summary>What a reader finds in one document of the state directory.</summary>
/// <param name="Name">The document's path relative to the state directory, e.g. <c>data/training_status.json</c>.</param>
/// <param name="Path">The full path.</param>
/// <param name="State">What was found.</param>
/// <param name="Schema">The document's schema id, when it could be read.</param>
/// <param name="Seq">The document's sequence number, when it could be read.</param>
/// <param name="WrittenAt">When it was written, when it could be read.</param>
/// <param name="WriterPid">The pid of the process that wrote it, when it could be read.</param>
/// <param name="Age">Now minus <paramref name="WrittenAt"/>.</param>
/// <param name="Error">Why it is not usable, for the states without a document.</param>
public sealed record DocumentHealth(
    string Name,
    string Path,
    ReadState State,
    string? Schema,
    long? Seq,
    DateTimeOffset? WrittenAt,
    int? WriterPid,
    TimeSpan? Age,
    string? Error);
