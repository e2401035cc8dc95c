namespace StabilityTools.Engine.Status;

/// <summary>
/// Size rotation of an append-only file (<c>events.jsonl</c>, <c>metrics.jsonl</c>, captured output, the supervisor's
/// log): <c>file</c> becomes <c>file.1</c>, <c>file.1</c> becomes <c>file.2</c>, …, the oldest is dropped. Renames
/// replace a link at a rotated name rather than follow it.
/// </summary>
public static class LogRotation
{
    /// <summary>The name of the <paramref name="index"/>th rotated file (1 is the newest).</summary>
    public static string RotatedPath(string path, int index) => $"{path}.{index}";

    /// <summary>Shifts <paramref name="path"/> into the rotated files, keeping <paramref name="retained"/>; with none kept the file is deleted.</summary>
    public static void Shift(string path, int retained)
    {
        if (retained == 0)
        {
            File.Delete(path);
            return;
        }

        File.Delete(RotatedPath(path, retained));
        for (var i = retained - 1; i >= 1; i--)
        {
            if (File.Exists(RotatedPath(path, i)))
            {
                File.Move(RotatedPath(path, i), RotatedPath(path, i + 1), overwrite: true);
            }
        }

        File.Move(path, RotatedPath(path, 1), overwrite: true);
    }
}
