using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>
/// The outcome of reading a status document: a state, and the document when there is one.
/// Readers never throw for a missing, corrupt, oversized or stale file; they report it here.
/// </summary>
/// <typeparam name="T">The document type.</typeparam>
/// <param name="State">What was found.</param>
/// <param name="Path">The file read.</param>
/// <param name="Document">The document for <see cref="ReadState.Ok"/> and <see cref="ReadState.Stale"/>; otherwise null.</param>
/// <param name="Error">Why the document could not be used, for the states that have no document.</param>
/// <param name="Age">How old the document was at read time (now minus <c>written_at</c>), when there is one.</param>
public sealed record ReadResult<T>(ReadState State, string Path, T? Document, string? Error, TimeSpan? Age)
    where T : class
{
    /// <summary>
    /// The uid that owns the file read, as the kernel reported it for the very file opened (not what its writer
    /// wrote); null when nothing was read or the platform has no owners (Windows: -1 never appears here).
    /// </summary>
    public int? OwnerUid { get; init; }

    /// <summary>True when a document is present (fresh or stale).</summary>
    public bool HasDocument => Document is not null;

    /// <summary>The document, or an exception that says why there is none.</summary>
    /// <exception cref="Errors.ProcessCommunicationException">The state carries no document.</exception>
    public T GetDocumentOrThrow() => Document ?? throw new Errors.ProcessCommunicationException(
        $"No usable document at '{Path}' ({StatusJson.WireName(State)}): {Error}")
    {
        Path = Path,
    };
}
