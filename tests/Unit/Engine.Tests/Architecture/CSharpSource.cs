using System.Text;
using System.Text.RegularExpressions;

namespace StabilityTools.Engine.Tests.Architecture;

/// <summary>
/// Just enough reading of C# source for the architecture tests: the text without comments and literals, the file's
/// namespace, its <c>using</c> namespaces, the types it declares and the (possibly dotted) names it uses. No compiler:
/// the rules these tests keep are about names, and a scan of the text keeps them cheap and free of Roslyn.
/// </summary>
internal static partial class CSharpSource
{
    /// <summary>
    /// The code of <paramref name="text"/> with comments removed and string and character literals emptied (the code in
    /// an interpolated string's holes is kept: a type named there is used). Line breaks inside them are kept, so
    /// positions keep their line numbers.
    /// </summary>
    public static string Strip(string text)
    {
        var output = new StringBuilder(text.Length);
        var i = 0;
        StripCode(text, ref i, output, stopAtBrace: false);
        return output.ToString();
    }

    // Copies code until the end of the text or, inside an interpolation hole, its closing brace (consumed).
    private static void StripCode(string s, ref int i, StringBuilder output, bool stopAtBrace)
    {
        var depth = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '/' && At(s, i + 1, '/'))
            {
                while (i < s.Length && s[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && At(s, i + 1, '*'))
            {
                var end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                var stop = end < 0 ? s.Length : end + 2;
                KeepLines(s, i, stop, output);
                i = stop;
            }
            else if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'')
                {
                    i += s[i] == '\\' ? 2 : 1;
                }

                i++;
                output.Append("' '");
            }
            else if (c == '"' || ((c == '$' || c == '@') && StringStartsAt(s, i)))
            {
                StripString(s, ref i, output);
            }
            else if (stopAtBrace && c == '{')
            {
                depth++;
                output.Append(c);
                i++;
            }
            else if (stopAtBrace && c == '}')
            {
                i++;
                if (depth-- == 0)
                {
                    return;
                }

                output.Append(c);
            }
            else
            {
                output.Append(c);
                i++;
            }
        }
    }

    private static bool StringStartsAt(string s, int i)
    {
        var j = i;
        while (j < s.Length && (s[j] == '$' || s[j] == '@'))
        {
            j++;
        }

        return j > i && At(s, j, '"');
    }

    private static void StripString(string s, ref int i, StringBuilder output)
    {
        var prefixStart = i;
        while (s[i] != '"')
        {
            i++;
        }

        var prefix = s[prefixStart..i];
        var interpolated = prefix.Contains('$');
        var verbatim = prefix.Contains('@');
        output.Append(' ').Append('"');
        if (s.AsSpan(i).StartsWith("\"\"\""))
        {
            // A raw literal: as many quotes close it as opened it. Its holes are not scanned (none in this code base).
            var quotes = 0;
            while (At(s, i, '"'))
            {
                quotes++;
                i++;
            }

            var close = s.IndexOf(new string('"', quotes), i, StringComparison.Ordinal);
            var stop = close < 0 ? s.Length : close + quotes;
            KeepLines(s, i, stop, output);
            i = stop;
            output.Append('"');
            return;
        }

        i++;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\' && !verbatim)
            {
                i += 2;
            }
            else if (c == '"' && verbatim && At(s, i + 1, '"'))
            {
                i += 2;
            }
            else if (c == '"')
            {
                i++;
                break;
            }
            else if (interpolated && c == '{' && At(s, i + 1, '{'))
            {
                i += 2;
            }
            else if (interpolated && c == '{')
            {
                i++;
                output.Append('{');
                StripCode(s, ref i, output, stopAtBrace: true);
                output.Append('}');
            }
            else
            {
                if (c == '\n')
                {
                    output.Append('\n');
                }

                i++;
            }
        }

        output.Append('"');
    }

    private static void KeepLines(string s, int from, int to, StringBuilder output)
    {
        for (var k = from; k < to && k < s.Length; k++)
        {
            if (s[k] == '\n')
            {
                output.Append('\n');
            }
        }
    }

    private static bool At(string s, int i, char c) => i < s.Length && s[i] == c;

    /// <summary>The namespace a stripped file declares (file-scoped or block), or "" for the global namespace.</summary>
    public static string Namespace(string code) => NamespacePattern().Match(code) is { Success: true } m ? m.Groups[1].Value : "";

    /// <summary>The namespaces a stripped file imports with <c>using N;</c> (aliases and <c>using static</c> name their target's namespace).</summary>
    public static IReadOnlyList<string> Usings(string code) =>
        [.. UsingPattern().Matches(code).Select(m => m.Groups["static"].Success || m.Groups["alias"].Success
            ? m.Groups["name"].Value[..Math.Max(0, m.Groups["name"].Value.LastIndexOf('.'))]
            : m.Groups["name"].Value)];

    /// <summary>The names of the types a stripped file declares (nested ones included; lower-case words such as a constraint's <c>where</c> are no type here).</summary>
    public static IReadOnlyList<string> DeclaredTypes(string code) =>
        [.. TypeDeclarationPattern().Matches(code).Select(m => m.Groups["name"].Value).Where(n => char.IsUpper(n[0]))];

    /// <summary>Every name in the code, dotted chains whole (<c>Status.Liveness.IsStale</c>), <c>using</c> lines and the namespace declaration left out.</summary>
    public static IEnumerable<string> Names(string code)
    {
        var body = DirectivePattern().Replace(code, "");
        return NamePattern().Matches(body).Select(m => Regex.Replace(m.Value, @"\s+", ""));
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:(?<static>static)\s+|(?<alias>\w+)\s*=\s*)?(?<name>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?|delegate\s+[\w<>?,\[\]\s]+?)\s+(?<name>[A-Za-z_]\w*)")]
    private static partial Regex TypeDeclarationPattern();

    [GeneratedRegex(@"^\s*(?:(?:global\s+)?using\s+[^;(]*;|namespace\s+[\w.]+\s*;)", RegexOptions.Multiline)]
    private static partial Regex DirectivePattern();

    [GeneratedRegex(@"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")]
    private static partial Regex NamePattern();
}
