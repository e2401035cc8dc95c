using System.Text.Json;

namespace StabilityTools.Dashboard.Data.History;

/// <summary>
/// One line of <c>metrics.jsonl</c> parsed straight from its UTF-8 bytes, without building a <c>MetricRecord</c>: the
/// history index reads millions of lines, and this keeps the cost to one pass of a <see cref="Utf8JsonReader"/> and no
/// allocation per line beyond new metric names. Every numeric top-level field other than <c>epoch</c> and <c>step</c> is a
/// metric (<c>train_loss</c>, <c>learning_rate</c>, ...), and so is every number in <c>scalars</c>: custom scalars are
/// found by themselves, never listed anywhere.
/// </summary>
internal sealed class MetricLine
{
    private readonly List<(string Name, double Value)> _values = new(16);

    /// <summary>When it was recorded (UTC ticks); 0 when the line had no valid time.</summary>
    public long Ticks { get; private set; }

    /// <summary>True for <c>"kind": "epoch"</c>, false for step records (and anything else).</summary>
    public bool IsEpoch { get; private set; }

    public int Epoch { get; private set; }

    public long Step { get; private set; }

    /// <summary>The finite metric values of the line.</summary>
    public IReadOnlyList<(string Name, double Value)> Values => _values;

    /// <summary>Parses <paramref name="line"/>; false (and nothing to use) when it is not a JSON object with a time.</summary>
    /// <param name="line">One line without its newline.</param>
    /// <param name="names">Interns metric names so a million lines share one string per name.</param>
    public bool TryParse(ReadOnlySpan<byte> line, MetricNames names)
    {
        _values.Clear();
        Ticks = 0;
        IsEpoch = true;
        Epoch = 0;
        Step = 0;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("time"u8))
                {
                    reader.Read();
                    Ticks = reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var time) ? time.UtcTicks : 0;
                }
                else if (reader.ValueTextEquals("kind"u8))
                {
                    reader.Read();
                    IsEpoch = reader.TokenType != JsonTokenType.String || reader.ValueTextEquals("epoch"u8);
                }
                else if (reader.ValueTextEquals("epoch"u8))
                {
                    reader.Read();
                    Epoch = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var epoch) ? epoch : 0;
                }
                else if (reader.ValueTextEquals("step"u8))
                {
                    reader.Read();
                    Step = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var step) ? step : 0;
                }
                else if (reader.ValueTextEquals("scalars"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadNumbers(ref reader, names);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    ReadNumber(ref reader, names);
                }
            }

            return Ticks != 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void ReadNumbers(ref Utf8JsonReader reader, MetricNames names)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ReadNumber(ref reader, names);
        }
    }

    // At a property name: takes its value when it is a finite number, skips it otherwise (strings, "NaN", objects).
    private void ReadNumber(ref Utf8JsonReader reader, MetricNames names)
    {
        // Lines are parsed from one span, so a name is never a sequence; an escaped one is rare enough to decode.
        var interned = reader.ValueIsEscaped ? names.Intern(reader.GetString() ?? "") : names.Intern(reader.ValueSpan);
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var value) && double.IsFinite(value) && interned is not null)
        {
            _values.Add((interned, value));
        }
        else
        {
            reader.Skip();
        }
    }
}
