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
        var pending = new StringBuilder();
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

            var length = File.Exists(path) ? new FileInfo(path).Length : 0;
            if (length < offset)
            {
                // Rotated (or truncated): the new file starts over.
                offset = 0;
            }

            if (length == offset)
            {
                continue;
            }

            string chunk;
            using (var reader = SafeFile.OpenRead(path))
            {
                reader.Position = offset;
                var buffer = new byte[length - offset];
                var read = reader.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                offset += read;
                chunk = Encoding.UTF8.GetString(buffer, 0, read);
            }

            pending.Append(chunk);
            var text = pending.ToString();
            var lastNewline = text.LastIndexOf('\n');
            if (lastNewline < 0)
            {
                continue;
            }

            pending.Clear().Append(text, lastNewline + 1, text.Length - lastNewline - 1);
            foreach (var raw in text[..lastNewline].Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                time = ServiceLogSearch.LineTime(line) ?? time;
                if (ServiceLogSearch.IsMatch(line, query, time))
                {
                    yield return line;
                }
            }
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
