using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Searches one log and all its rotated files (<c>stdout.log.N</c> … <c>.1</c>, <c>stdout.log</c>), oldest first, by
/// pattern and time (<see cref="ServiceLogQuery"/>), reading each file line by line: only a tail is held in memory.
/// Never through a link (<see cref="SafeFile"/>).
/// </summary>
/// <remarks>
/// The supervisor may rotate while a search reads. Every file is opened before any is read, newest first, so a
/// rotation in between can only make a file show up twice (the current file, then again as <c>.1</c>); the second
/// handle is dropped (same modification time and length), and no line is written twice. A file rotated out of the kept
/// count meanwhile is gone for everyone.
/// </remarks>
public static partial class ServiceLogSearch
{
    /// <summary>The files of a log that exist now, oldest first: its rotated files by number, then <paramref name="path"/>.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var directory = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
        var prefix = Path.GetFileName(path) + ".";
        var rotated = new List<(int Index, string Path)>();
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.EnumerateFiles(directory, prefix + "*"))
            {
                // Only stdout.log.<n>: not the log itself (the pattern matches it too), a temporary file or anything else.
                var fileName = Path.GetFileName(file);
                if (fileName.Length > prefix.Length && fileName.StartsWith(prefix, StringComparison.Ordinal)
                    && int.TryParse(fileName.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index > 0)
                {
                    rotated.Add((index, LogRotation.RotatedPath(path, index)));
                }
            }
        }

        var files = rotated.OrderByDescending(r => r.Index).Select(r => r.Path).ToList();
        if (File.Exists(path))
        {
            files.Add(path);
        }

        return files;
    }

    /// <summary>
    /// The lines of the log at <paramref name="path"/> that <paramref name="query"/> asks for, oldest first, each once.
    /// Lazy without a tail (lines come as they are read); with one, the last <see cref="ServiceLogQuery.Tail"/> matches.
    /// </summary>
    /// <exception cref="ArgumentException">The query is invalid (<see cref="ServiceLogQuery.Validate"/>).</exception>
    public static IEnumerable<string> Search(string path, ServiceLogQuery query)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return query.Tail is { } tail ? TailOf(Matches(path, query), tail) : Matches(path, query);
    }

    /// <summary>True when a line written now passes the pattern and the window (what a follow writes).</summary>
    public static bool IsMatch(string line, ServiceLogQuery query, DateTimeOffset? lineTime)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(query);
        return (lineTime is not { } t || ((query.Since is null || t >= query.Since) && (query.Until is null || t <= query.Until)))
            && (query.Pattern is null || query.Pattern.IsMatch(line));
    }

    /// <summary>The time a line carries at its start (see <see cref="ServiceLogQuery"/>); null when it carries none.</summary>
    public static DateTimeOffset? LineTime(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var match = LeadingTime().Match(line);
        if (!match.Success)
        {
            return null;
        }

        var text = match.Groups["t"].Value.Replace(',', '.').Replace(' ', 'T');
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var time) ? time : null;
    }

    // An ISO-8601 date and time at the start, perhaps in brackets or as the supervisor's compact JSON's first property.
    [GeneratedRegex("""^\s*(?:\{"@t":"|\[)?(?<t>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,7})?(?:Z|[+-]\d{2}:?\d{2})?)""", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex LeadingTime();

    private static IEnumerable<string> Matches(string path, ServiceLogQuery query)
    {
        var opened = Open(path);
        try
        {
            DateTimeOffset? olderWrite = null;
            foreach (var (stream, lastWrite) in opened)
            {
                // The file was written from the older file's last write to its own: skip it when that misses the window.
                var skip = (query.Since is { } since && lastWrite < since) || (query.Until is { } until && olderWrite > until);
                olderWrite = lastWrite;
                if (skip)
                {
                    continue;
                }

                DateTimeOffset? time = null;
                using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024, leaveOpen: true);
                while (reader.ReadLine() is { } line)
                {
                    // A line without a time of its own belongs to the timed record before it (a stack trace, say).
                    time = LineTime(line) ?? time;
                    if (IsMatch(line, query, time))
                    {
                        yield return line;
                    }
                }
            }
        }
        finally
        {
            foreach (var (stream, _) in opened)
            {
                stream.Dispose();
            }
        }
    }

    private static List<(FileStream Stream, DateTimeOffset LastWrite)> Open(string path)
    {
        var opened = new List<(FileStream Stream, DateTimeOffset LastWrite)>();
        var seen = new HashSet<(DateTime, long)>();
        foreach (var file in Files(path).Reverse())
        {
            FileStream stream;
            try
            {
                stream = SafeFile.OpenRead(file);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                // Rotated out of the kept count since it was listed, or not ours to read: as a tail treats it.
                continue;
            }

            var lastWrite = File.GetLastWriteTimeUtc(stream.SafeFileHandle);
            if (!seen.Add((lastWrite, stream.Length)))
            {
                // The same file under its next name: a rotation came between two opens.
                stream.Dispose();
                continue;
            }

            opened.Add((stream, new DateTimeOffset(lastWrite, TimeSpan.Zero)));
        }

        opened.Reverse();
        return opened;
    }

    private static IEnumerable<string> TailOf(IEnumerable<string> lines, int count)
    {
        if (count == 0)
        {
            yield break;
        }

        var last = new Queue<string>(Math.Min(count, 4096));
        foreach (var line in lines)
        {
            if (last.Count == count)
            {
                last.Dequeue();
            }

            last.Enqueue(line);
        }

        foreach (var line in last)
        {
            yield return line;
        }
    }
}
