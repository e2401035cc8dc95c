using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dummy.Verbs;

/// <summary>The document the store stress writes: a random payload and its checksum, so a torn or mixed document is detectable beyond parsing.</summary>
internal sealed record StressDocument : StatusDocument, IStatusSchema
{
    public static string SchemaName => "stress";

    public static int SchemaVersion => 1;

    public int WriterIndex { get; init; }

    public string Payload { get; init; } = "";

    public ulong Checksum { get; init; }

    public static ulong Hash(string text)
    {
        // FNV-1a: any change of the payload changes the checksum with overwhelming probability.
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
