using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Trainer.Configuration;

/// <summary>
/// Scans a JSON config file once, the way Microsoft.Extensions.Configuration.Json reads it (comments and
/// trailing commas allowed), to find the line of every key, so that problems can name it; and reports
/// malformed JSON and duplicate keys with their line, which the configuration library reports less clearly.
/// </summary>
internal static class JsonKeyLines
{
    /// <summary>Maps each configuration key (<c>training:epochs</c>, case-insensitive) to its 1-based line.</summary>
    /// <exception cref="ConfigurationException">The file is not valid JSON, its root is not an object, or a key repeats.</exception>
    public static IReadOnlyDictionary<string, int> Scan(string file, byte[] json)
    {
        var lines = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<ConfigurationProblem>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });

        // Each open container: its key prefix, whether it is an array, and the next array index.
        var stack = new Stack<(string Prefix, bool IsArray, int Index)>();
        string? pendingKey = null;
        try
        {
            if (!reader.Read())
            {
                throw new ConfigurationException(new ConfigurationProblem(file, 1, null, "the file is empty; it must hold a JSON object such as { \"training\": { \"epochs\": 10 } }."));
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ConfigurationException(new ConfigurationProblem(file, LineOf(json, reader.TokenStartIndex), null,
                    $"the file must hold a JSON object at the top, not {Describe(reader.TokenType)}."));
            }

            stack.Push(("", false, 0));
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        {
                            var top = stack.Peek();
                            var name = reader.GetString() ?? "";
                            pendingKey = top.Prefix.Length == 0 ? name : top.Prefix + ":" + name;
                            var line = LineOf(json, reader.TokenStartIndex);
                            if (!lines.TryAdd(pendingKey, line))
                            {
                                problems.Add(new ConfigurationProblem(file, line, pendingKey,
                                    $"the key appears twice (first on line {lines[pendingKey]}); keep one."));
                            }

                            break;
                        }

                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        stack.Push((NextKey(stack, ref pendingKey, json, reader.TokenStartIndex, lines), reader.TokenType == JsonTokenType.StartArray, 0));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        stack.Pop();
                        break;
                    default:
                        NextKey(stack, ref pendingKey, json, reader.TokenStartIndex, lines);
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? (int)l + 1 : (int?)null;
            var column = ex.BytePositionInLine is { } c ? $", column {c + 1}" : "";
            throw new ConfigurationException(new ConfigurationProblem(file, line, null,
                $"not valid JSON{column}: {FirstSentence(ex.Message)} Fix the syntax (JSON with // comments is accepted)."), ex);
        }

        return problems.Count > 0 ? throw new ConfigurationException(problems) : lines;
    }

    /// <summary>The key of the value that starts now: the pending property, or the next index of the enclosing array.</summary>
    private static string NextKey(Stack<(string Prefix, bool IsArray, int Index)> stack, ref string? pendingKey, byte[] json, long at, Dictionary<string, int> lines)
    {
        var top = stack.Peek();
        if (!top.IsArray)
        {
            var key = pendingKey ?? "";
            pendingKey = null;
            return key;
        }

        stack.Pop();
        stack.Push(top with { Index = top.Index + 1 });
        var indexed = $"{top.Prefix}:{top.Index}";
        lines.TryAdd(indexed, LineOf(json, at));
        return indexed;
    }

    private static int LineOf(byte[] json, long index)
    {
        var line = 1;
        for (var i = 0; i < index && i < json.Length; i++)
        {
            if (json[i] == (byte)'\n')
            {
                line++;
            }
        }

        return line;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: $ | LineNumber: ..." which repeats what the problem already says.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = new StringBuilder(cut > 0 ? message[..cut] : message).ToString().Trim();
        return text.EndsWith('.') ? text : text + ".";
    }
}
