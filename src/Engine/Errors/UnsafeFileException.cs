namespace StabilityTools.Engine.Errors;

/// <summary>
/// A symbolic link, a file owned by someone else or something other than a regular file stands where a product file
/// belongs, so the product refused to open it (docs/SECURITY.md).
/// </summary>
/// <remarks>
/// An <see cref="IOException"/> rather than a <see cref="StabilityException"/>: it arises at the one place files are
/// opened, under every writer that already turns I/O failures into its typed error (a status write becomes a
/// <see cref="StatusWriteException"/> with error id <c>UnsafeFileRefused</c>), and no writer may take it for success.
/// </remarks>
public sealed class UnsafeFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>; <paramref name="reason"/> says what was found.</summary>
    public UnsafeFileException(string path, string reason)
        : base($"Refused to open '{path}': {reason}. Nothing was written through it. Remove it (and find out who put it there: see docs/SECURITY.md).")
    {
        Path = path;
        Reason = reason;
    }

    /// <summary>The file refused.</summary>
    public string Path { get; }

    /// <summary>What was found there.</summary>
    public string Reason { get; }

    /// <summary>The owner uid of a foreign-owned file, when that was the reason.</summary>
    public int? OwnerUid { get; init; }

    /// <summary>The error id cmdlets report.</summary>
    public const string ErrorId = "UnsafeFileRefused";
}
