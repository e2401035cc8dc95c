using System.Runtime.CompilerServices;
using System.Text;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Reads a service's captured output and its supervisor's log (<c>services/&lt;name&gt;/logs/</c>): tails across the
/// newest rotation, follows new lines through rotations, and the short tail that error messages quote. Never through
/// a link (<see cref="SafeFile"/>).
/// </summary>
public sealed class ServiceLogReader
{
    private const long FollowReadBound = 256L * 1024 * 1024;
    private readonly StateDirectory _state;
    private readonly TimeProvider _time;

    /// <summary>Creates a reader over <paramref name="state"/>; <paramref name="time"/> paces the follows.</summary>
    public ServiceLogReader(StateDirectory state, TimeProvider? time = null)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The current file of a service's log.</summary>
    public static string LogPath(StateDirectory state, string name, ServiceLogStream stream) => Path.Combine(
        state.ServiceLogDirectory(name),
        stream switch
        {
            ServiceLogStream.Stderr => "stderr.log",
            ServiceLogStream.Supervisor => "supervisor.log",
            _ => "stdout.log",
        });

    /// <summary>The last <paramref name="lines"/> lines of a log, across its newest rotated file when needed.</summary>
    public IReadOnlyList<string> Tail(string name, int lines, ServiceLogStream stream = ServiceLogStream.Stdout)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        var path = LogPath(_state, name, stream);
        var current = ReadLines(path);
        if (current.Count >= lines)
        {
            return current.Skip(current.Count - lines).ToList();
        }

        var previous = ReadLines(path + ".1");
        return previous.Skip(Math.Max(0, previous.Count - (lines - current.Count))).Concat(current).ToList();
    }

    /// <summary>
    /// The lines of a log that <paramref name="query"/> asks for, across all its rotated files, oldest first
    /// (<see cref="ServiceLogSearch"/>). A query without a pattern or a time reads like <see cref="Tail"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The query is invalid.</exception>
    public IEnumerable<string> Search(string name, ServiceLogQuery query, ServiceLogStream stream = ServiceLogStream.Stdout)
    {
        ArgumentNullException.ThrowIfNull(query);
        return !query.Filters && query.Tail is { } tail
            ? Tail(name, tail, stream)
            : ServiceLogSearch.Search(LogPath(_state, name, stream), query);
    }

    /// <summary>The last <paramref name="tail"/> lines, then every new line as it is written, following rotations, until cancelled.</summary>
    public IAsyncEnumerable<string> FollowAsync(string name, int tail, ServiceLogStream stream = ServiceLogStream.Stdout,
        CancellationToken cancellationToken = default) =>
        FollowAsync(name, new ServiceLogQuery { Tail = tail }, stream, cancellationToken);

    /// <summary>
    /// What <see cref="Search"/> finds for <paramref name="query"/>, then every new line that matches its pattern (and
    /// is not timed before its <see cref="ServiceLogQuery.Since"/>) as it is written, following rotations, until cancelled.
    /// </summary>
    /// <exception cref="ArgumentException">The query has an <see cref="ServiceLogQuery.Until"/>: a follow has no end.</exception>
    public IAsyncEnumerable<string> FollowAsync(string name, ServiceLogQuery query, ServiceLogStream stream = ServiceLogStream.Stdout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Until is not null)
        {
            throw new ArgumentException("A follow writes lines as they come and has no end: leave out -Until, or leave out -Wait to search up to it.", nameof(query));
        }

        query.Validate();
        return FollowCoreAsync(name, query, stream, cancellationToken);
    }

    private async IAsyncEnumerable<string> FollowCoreAsync(string name, ServiceLogQuery query, ServiceLogStream stream,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var line in Search(name, query, stream))
        {
            yield return line;
        }

        // New lines start where the search ended, so none is written twice.
        var path = LogPath(_state, name, stream);
        var offset = File.Exists(path) ? new FileInfo(path).Length : 0;

        DateTimeOffset? time = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }

            // A current file is rotated at its size limit (log_max_bytes), so this bound is never met in practice.
            var chunk = ReadAfter(path, offset, FollowReadBound);
            offset = chunk.NextOffset;
            foreach (var line in chunk.Lines)
            {
                time = ServiceLogSearch.LineTime(line) ?? time;
                if (ServiceLogSearch.IsMatch(line, query, time))
                {
                    yield return line;
                }
            }
        }
    }

    /// <summary>
    /// The whole lines written to the log file at <paramref name="path"/> after <paramref name="offset"/> (what a follow
    /// or the dashboard's live log panel asks for next), at most the last <paramref name="maxBytes"/> of them. A partial
    /// last line is left for the next read: <see cref="LogChunk.NextOffset"/> is the end of the last whole line. A file
    /// shorter than the offset was rotated (or truncated) and is read from its start. A missing file has no lines.
    /// </summary>
    /// <exception cref="Errors.UnsafeFileException">A link is at <paramref name="path"/>.</exception>
    public static LogChunk ReadAfter(string path, long offset, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        FileStream reader;
        try
        {
            reader = SafeFile.OpenRead(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new LogChunk([], 0, offset > 0, 0);
        }

        using (reader)
        {
            var length = reader.Length;
            var restarted = length < offset;
            var from = restarted ? 0 : offset;
            var skipped = 0L;
            if (length - from > maxBytes)
            {
                // Far behind (a burst of output): the newest lines count, the rest is said to be skipped.
                skipped = length - maxBytes - from;
                from = length - maxBytes;
            }

            var buffer = new byte[length - from];
            reader.Position = from;
            var read = reader.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var end = read == 0 ? -1 : Array.LastIndexOf(buffer, (byte)'\n', read - 1);
            if (end < 0)
            {
                return new LogChunk([], from, restarted, skipped);
            }

            var start = 0;
            if (skipped > 0)
            {
                // The read began inside a line: that line's tail is no line of its own.
                var first = Array.IndexOf(buffer, (byte)'\n', 0, end + 1);
                skipped += first + 1;
                start = first + 1;
                if (first == end)
                {
                    return new LogChunk([], from + end + 1, restarted, skipped);
                }
            }

            var lines = Encoding.UTF8.GetString(buffer, start, end - start).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            return new LogChunk(lines, from + end + 1, restarted, skipped);
        }
    }

    /// <summary>The tail of a service's stderr and stdout, each line marked with its stream, for error messages.</summary>
    public string ErrorTail(string name, int lines)
    {
        var text = new StringBuilder();
        foreach (var stream in new[] { ServiceLogStream.Stderr, ServiceLogStream.Stdout })
        {
            var tail = ReadLines(LogPath(_state, name, stream));
            foreach (var line in tail.Skip(Math.Max(0, tail.Count - lines)))
            {
                text.Append(stream == ServiceLogStream.Stderr ? "[stderr] " : "[stdout] ").AppendLine(line);
            }
        }

        return text.ToString();
    }

    /// <summary>The lines of a file (at most its last 1 MiB); none when it is missing or unreadable.</summary>
    public static List<string> ReadLines(string path)
    {
        try
        {
            using var stream = SafeFile.OpenRead(path);
            // Only the end matters for a tail: read at most the last 1 MiB.
            const int cap = 1024 * 1024;
            if (stream.Length > cap)
            {
                stream.Position = stream.Length - cap;
            }

            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            if (lines.Count > 0 && lines[^1].Length == 0)
            {
                lines.RemoveAt(lines.Count - 1);
            }

            return lines;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

/// <summary>What <see cref="ServiceLogReader.ReadAfter"/> read: whole lines, where the next read starts, whether the file had been rotated, and how many bytes it passed over to stay within its bound.</summary>
public sealed record LogChunk(IReadOnlyList<string> Lines, long NextOffset, bool Restarted, long SkippedBytes);
