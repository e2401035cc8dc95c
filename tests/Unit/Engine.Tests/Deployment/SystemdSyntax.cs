using System.Globalization;
using System.Text;

namespace StabilityTools.Engine.Tests.Deployment;

/// <summary>
/// systemd's own reading of unit settings, written from systemd.syntax(7), systemd.service(5) "Command lines" and
/// systemd.unit(5) "Specifiers" (and systemd's extract_first_word and cunescape): what a program, its environment and
/// the mount dependencies really get from a unit line. Independent of the code under test, so a round trip through
/// both shows that the unit says what was meant. Anything the writer should never produce (a specifier other than
/// <c>%%</c>, a variable reference, unbalanced quotes, an unknown escape) throws.
/// </summary>
internal static class SystemdSyntax
{
    /// <summary>
    /// The program and argv an <c>ExecStart=</c> value runs: words unquoted and C-unescaped; the first loses its
    /// prefixes (<c>-@:+!</c>; with <c>@</c> the second word is argv[0]) and gets specifiers only, as systemd never
    /// substitutes variables in the program's path; every argv word gets specifiers, then variables.
    /// </summary>
    public static (string Path, IReadOnlyList<string> Argv) Command(string value)
    {
        var words = Words(value, unescapeC: true).ToList();
        if (words.Count == 0)
        {
            throw new FormatException("An empty command line.");
        }

        var first = words[0];
        var prefixes = first.Length - first.TrimStart('-', '@', ':', '+', '!').Length;
        var separateArgv0 = first[..prefixes].Contains('@');
        var path = ExpandSpecifiers(first[prefixes..]);
        var rest = words.Skip(1).Select(w => ExpandVariables(ExpandSpecifiers(w)));
        var argv = separateArgv0 ? rest.ToList() : rest.Prepend(ExpandVariables(path)).ToList();
        return (path, argv);
    }

    /// <summary>The argv of an <c>ExecStart=</c> value without a program: words unquoted and C-unescaped, then specifiers, then variables.</summary>
    public static IReadOnlyList<string> Arguments(string value) =>
        Words(value, unescapeC: true).Select(ExpandSpecifiers).Select(ExpandVariables).ToList();

    /// <summary>The variables an <c>Environment=</c> value sets: unquoted and C-unescaped words, then specifiers; no variable expansion.</summary>
    public static IReadOnlyDictionary<string, string> Environment(string value) =>
        Words(value, unescapeC: true).Select(ExpandSpecifiers).Select(word =>
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"'{word}' is not a NAME=value assignment.");
            }

            return (Name: word[..equals], Value: word[(equals + 1)..]);
        }).ToDictionary(a => a.Name, a => a.Value);

    /// <summary>The paths of a path list such as <c>RequiresMountsFor=</c>: unquoted (a backslash keeps the next character), then specifiers.</summary>
    public static IReadOnlyList<string> PathList(string value) => Words(value, unescapeC: false).Select(ExpandSpecifiers).ToList();

    /// <summary>A plain string setting such as <c>Description=</c>: only specifiers.</summary>
    public static string Text(string value) => ExpandSpecifiers(value);

    /// <summary>The value of the one line <c>key=…</c> in <paramref name="unit"/>; throws unless there is exactly one.</summary>
    public static string Setting(string unit, string key) =>
        unit.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith(key + "=", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..]).Single();

    private static IEnumerable<string> Words(string value, bool unescapeC)
    {
        var i = 0;
        while (true)
        {
            while (i < value.Length && IsSeparator(value[i]))
            {
                i++;
            }

            if (i == value.Length)
            {
                yield break;
            }

            var word = new StringBuilder();
            char quote = '\0';
            for (; i < value.Length; i++)
            {
                var c = value[i];
                if (quote == '\0' && IsSeparator(c))
                {
                    break;
                }

                if (c == '\\')
                {
                    i++;
                    if (i == value.Length)
                    {
                        throw new FormatException($"A trailing backslash in '{value}'.");
                    }

                    if (unescapeC)
                    {
                        i = Unescape(value, i, word) - 1;
                    }
                    else
                    {
                        word.Append(value[i]);
                    }
                }
                else if (quote != '\0' && c == quote)
                {
                    quote = '\0';
                }
                else if (quote == '\0' && c is '"' or '\'')
                {
                    quote = c;
                }
                else
                {
                    word.Append(c);
                }
            }

            if (quote != '\0')
            {
                throw new FormatException($"Unbalanced quoting in '{value}'.");
            }

            yield return word.ToString();
        }
    }

    private static bool IsSeparator(char c) => c is ' ' or '\t' or '\n' or '\r';

    /// <summary>systemd's cunescape_one at <paramref name="i"/> (just past the backslash); returns the index after the escape.</summary>
    private static int Unescape(string value, int i, StringBuilder word)
    {
        var c = value[i];
        switch (c)
        {
            case 'a': word.Append('\a'); return i + 1;
            case 'b': word.Append('\b'); return i + 1;
            case 'f': word.Append('\f'); return i + 1;
            case 'n': word.Append('\n'); return i + 1;
            case 'r': word.Append('\r'); return i + 1;
            case 't': word.Append('\t'); return i + 1;
            case 'v': word.Append('\v'); return i + 1;
            case 's': word.Append(' '); return i + 1;
            case '\\' or '"' or '\'': word.Append(c); return i + 1;
            case 'x':
                word.Append((char)int.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                return i + 3;
            case 'u':
                word.Append((char)int.Parse(value.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                return i + 5;
            case 'U':
                word.Append(char.ConvertFromUtf32(int.Parse(value.AsSpan(i + 1, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                return i + 9;
            case >= '0' and <= '7':
                word.Append((char)Convert.ToInt32(value.Substring(i, 3), 8));
                return i + 3;
            default:
                // systemd warns "Ignoring unknown escape sequences" and keeps the backslash: never what a writer meant.
                throw new FormatException($"Unknown escape '\\{c}' in '{value}'.");
        }
    }

    private static string ExpandSpecifiers(string word)
    {
        var text = new StringBuilder(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] != '%')
            {
                text.Append(word[i]);
            }
            else if (i + 1 < word.Length && word[i + 1] == '%')
            {
                text.Append('%');
                i++;
            }
            else
            {
                throw new FormatException($"'{word}' has the specifier '%{(i + 1 < word.Length ? word[i + 1] : ' ')}': systemd would replace it.");
            }
        }

        return text.ToString();
    }

    private static string ExpandVariables(string word)
    {
        var text = new StringBuilder(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] != '$')
            {
                text.Append(word[i]);
            }
            else if (i + 1 < word.Length && word[i + 1] == '$')
            {
                text.Append('$');
                i++;
            }
            else if (i + 1 < word.Length && (word[i + 1] == '{' || char.IsAsciiLetter(word[i + 1]) || word[i + 1] == '_'))
            {
                throw new FormatException($"'{word}' references a variable at '{word[i..]}': systemd would substitute it.");
            }
            else
            {
                text.Append('$');
            }
        }

        return text.ToString();
    }
}
