using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Data;

/// <summary>One status document as the cache last read it: the read's outcome and when it was read.</summary>
/// <typeparam name="T">The document type.</typeparam>
/// <param name="Result">The read's outcome (never read with a staleness bound: staleness is judged when shown).</param>
/// <param name="ReadAt">When it was read.</param>
internal sealed record FileSnapshot<T>(ReadResult<T> Result, DateTimeOffset ReadAt)
    where T : StatusDocument
{
    /// <summary>What decides whether a re-read changed anything.</summary>
    public (ReadState, long, DateTimeOffset, string?) Fingerprint =>
        (Result.State, Result.Document?.Seq ?? 0, Result.Document?.WrittenAt ?? default, Result.Error);

    /// <summary>A snapshot of a file that was never read.</summary>
    public static FileSnapshot<T> Unread(string path) =>
        new(new ReadResult<T>(ReadState.Missing, path, null, "not read yet", null), DateTimeOffset.MinValue);
}
