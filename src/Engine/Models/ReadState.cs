namespace StabilityTools.Engine.Models;

/// <summary>What a reader found when it looked for a document. Only <see cref="Ok"/> and <see cref="Stale"/> carry one.</summary>
public enum ReadState
{
    /// <summary>A whole, valid, fresh document.</summary>
    Ok,

    /// <summary>A valid document, older than the staleness bound the reader gave.</summary>
    Stale,

    /// <summary>No document at that path.</summary>
    Missing,

    /// <summary>The file exists but is not a valid document of the expected schema.</summary>
    Corrupt,

    /// <summary>The file is larger than the reader's size cap; it was not read.</summary>
    Oversized,

    /// <summary>The file could not be read (permissions, I/O error) after brief retries.</summary>
    Unreadable,
}
