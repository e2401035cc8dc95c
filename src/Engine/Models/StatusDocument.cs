using System.Text.Json.Serialization;

namespace StabilityTools.Engine.Models;

/// <summary>
/// The envelope every status document carries: <c>schema</c>, a monotonically increasing <c>seq</c>,
/// <c>written_at</c> and <c>writer</c>. The <see cref="Status.StatusStore"/> stamps these on each write, so
/// callers leave them at their defaults.
/// </summary>
public abstract record StatusDocument
{
    /// <summary>The schema id, e.g. <c>training_status/1</c>.</summary>
    [JsonPropertyOrder(-4)]
    public string Schema { get; init; } = "";

    /// <summary>Sequence number: one more than the document it replaced (1 for the first).</summary>
    [JsonPropertyOrder(-3)]
    public long Seq { get; init; }

    /// <summary>When the document was written, UTC.</summary>
    [JsonPropertyOrder(-2)]
    public DateTimeOffset WrittenAt { get; init; }

    /// <summary>The process that wrote the document.</summary>
    [JsonPropertyOrder(-1)]
    public WriterInfo? Writer { get; init; }

    internal StatusDocument Stamp(string schema, long seq, DateTimeOffset writtenAt, WriterInfo writer) =>
        this with { Schema = schema, Seq = seq, WrittenAt = writtenAt, Writer = writer };
}
