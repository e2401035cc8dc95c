using StabilityTools.Engine.Platform;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>Where the last <c>budget</c> bytes of a line log begin, at a line boundary: the live view starts there, so start-up does not grow with the log.</summary>
internal static class LogTail
{
    /// <summary>
    /// The offset of the first whole line within the last <paramref name="budget"/> bytes of <paramref name="path"/>; 0 when
    /// the file is no longer than that, missing or unreadable (then the reader reads it whole, as before).
    /// </summary>
    public static long Offset(string path, long budget)
    {
        try
        {
            using var stream = SafeFile.OpenRead(path);
            if (stream.Length <= budget)
            {
                return 0;
            }

            var start = stream.Length - budget;
            stream.Position = start - 1;
            var buffer = new byte[64 * 1024];
            var position = start - 1;
            while (true)
            {
                var read = stream.Read(buffer);
                if (read == 0)
                {
                    return 0;
                }

                // The byte before the window is included, so a window that starts exactly at a line loses nothing.
                var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    return position + newline + 1;
                }

                position += read;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
