using System.Text;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>
/// The metric names of one run, interned, and bounded: a trainer that invents a new scalar name per step must not grow the
/// dashboard without end, so names past <see cref="MaxNames"/> are ignored (and counted). Not thread-safe: each run's
/// index owns one and uses it under its own lock.
/// </summary>
internal sealed class MetricNames
{
    /// <summary>Distinct metric names kept per run.</summary>
    public const int MaxNames = 32;

    /// <summary>The longest name kept, in bytes.</summary>
    public const int MaxNameBytes = 100;

    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public MetricNames() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Values dropped because their name was one too many.</summary>
    public long Ignored { get; private set; }

    /// <summary>The names kept so far.</summary>
    public IReadOnlyCollection<string> All => _names.Keys;

    /// <summary>True when <paramref name="name"/> is one of the names kept.</summary>
    public bool Contains(string name) => _names.ContainsKey(name);

    /// <summary>
    /// The names of a saved index (<see cref="HistoryIndexFile"/>) with the count of values they had ignored, so the run goes on
    /// as if read from the start; null when they break a rule a read never breaks (too many, invalid, repeated): a corrupt index.
    /// </summary>
    public static MetricNames? Restore(IEnumerable<string> names, long ignored)
    {
        var restored = new MetricNames { Ignored = ignored };
        foreach (var name in names)
        {
            if (ignored < 0 || restored.Contains(name) || restored.Intern(name.AsSpan()) is null)
            {
                return null;
            }
        }

        return restored;
    }

    public string? Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length is 0 or > MaxNameBytes)
        {
            return null;
        }

        Span<char> chars = stackalloc char[MaxNameBytes];
        var count = Encoding.UTF8.GetChars(utf8, chars);
        return Intern(chars[..count]);
    }

    public string? Intern(ReadOnlySpan<char> name)
    {
        if (_lookup.TryGetValue(name, out var known))
        {
            return known;
        }

        if (name.Length is 0 or > MaxNameBytes || name.ContainsAnyInRange('\0', '\u001f'))
        {
            return null;
        }

        if (_names.Count >= MaxNames)
        {
            Ignored++;
            return null;
        }

        var text = name.ToString();
        _names[text] = text;
        return text;
    }
}
