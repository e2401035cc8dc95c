using System.Globalization;
using System.Text.Json;

namespace StabilityTools.Reporting;

/// <summary>
/// The checkpoints of one run in its folder: <c>ckpt-e&lt;epochs&gt;-b&lt;batch&gt;.ckpt</c> (<see cref="CheckpointFile"/>
/// containers), newest K kept. Loading tries the newest first and falls back to older ones when a file fails
/// verification; a file that failed is renamed to <c>*.corrupt</c> (kept for inspection, never tried again, not counted
/// in K). What the metadata and blocks mean is the caller's: the built-in trainer stores model, optimizer and RNG state,
/// <see cref="StabilityRun"/> one stream of the user's.
/// </summary>
internal sealed class CheckpointStore
{
    private const string Prefix = "ckpt-e";
    private const string Extension = ".ckpt";

    /// <summary>Creates the store over <paramref name="directory"/> (which must exist).</summary>
    public CheckpointStore(string directory, int keep)
    {
        Directory = directory;
        Keep = keep;
    }

    /// <summary>The run's directory.</summary>
    public string Directory { get; }

    /// <summary>How many checkpoints to keep.</summary>
    public int Keep { get; }

    /// <summary>The checkpoint files present, newest first.</summary>
    public IReadOnlyList<string> List() => System.IO.Directory.EnumerateFiles(Directory, Prefix + "*" + Extension)
        .Select(f => (Path: f, Key: Position(f)))
        .Where(x => x.Key is not null)
        .OrderByDescending(x => x.Key!.Value.Epoch).ThenByDescending(x => x.Key!.Value.Batch)
        .Select(x => x.Path)
        .ToList();

    /// <summary>Writes a checkpoint atomically and durably, then drops all but the newest <see cref="Keep"/>.</summary>
    /// <returns>The checkpoint's path.</returns>
    /// <param name="epochsDone">Completed epochs (the name's <c>e</c>).</param>
    /// <param name="batchInEpoch">Batches of the next epoch already trained (the name's <c>b</c>).</param>
    /// <param name="metadataJson">The container's metadata block.</param>
    /// <param name="blobs">The container's binary blocks.</param>
    public string Save(int epochsDone, int batchInEpoch, string metadataJson, IReadOnlyList<byte[]> blobs)
    {
        var path = System.IO.Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{epochsDone:D5}-b{batchInEpoch:D6}{Extension}"));
        CheckpointFile.Write(path, metadataJson, blobs);
        foreach (var old in List().Skip(Keep))
        {
            TryDelete(old);
        }

        return path;
    }

    /// <summary>
    /// Loads the newest checkpoint that verifies and that <paramref name="parse"/> accepts. Each one that does not is
    /// renamed <c>*.corrupt</c> and reported through <paramref name="onCorrupt"/> (path, reason) before the next older
    /// one is tried.
    /// </summary>
    /// <param name="parse">Makes the checkpoint of (path, metadata, blocks); throws <see cref="InvalidDataException"/> or
    /// <see cref="JsonException"/> for contents it cannot use, which count as damage.</param>
    /// <param name="onCorrupt">Told of each unusable checkpoint (path, reason).</param>
    /// <returns>The checkpoint, or null when there is no valid one (a fresh start).</returns>
    public T? LoadNewestValid<T>(Func<string, string, IReadOnlyList<byte[]>, T> parse, Action<string, string> onCorrupt)
        where T : class
    {
        foreach (var path in List())
        {
            try
            {
                var (json, blobs) = CheckpointFile.Read(path);
                return parse(path, json, blobs);
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or IOException)
            {
                onCorrupt(path, ex.Message);
                try
                {
                    File.Move(path, path + ".corrupt", overwrite: true);
                }
                catch (IOException)
                {
                    // Could not set it aside: it is tried (and fails) again next start, which is harmless.
                }
            }
        }

        return null;
    }

    /// <summary>Removes temporary files of writers that were killed mid-write.</summary>
    public void SweepTemporaries()
    {
        foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, "*.tmp-*"))
        {
            TryDelete(temp);
        }
    }

    private static (int Epoch, int Batch)? Position(string path)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        var parts = name[Prefix.Length..].Split("-b");
        return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var e) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var b)
            ? (e, b)
            : null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the next prune.
        }
    }
}
