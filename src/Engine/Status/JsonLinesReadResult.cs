namespace StabilityTools.Engine.Status;

/// <summary>Records read from a JSON-lines log, oldest first, with what had to be skipped.</summary>
/// <typeparam name="T">The record type.</typeparam>
/// <param name="Records">The valid records, oldest first.</param>
/// <param name="SkippedLines">Lines that were not valid records (corrupt or over the size cap).</param>
/// <param name="IncompleteTail">True when the newest file ended in a partial line (a write in progress or a killed writer); it was ignored.</param>
/// <param name="EndOffset">Where the next incremental read of the current file starts.</param>
public sealed record JsonLinesReadResult<T>(IReadOnlyList<T> Records, int SkippedLines, bool IncompleteTail, long EndOffset);
