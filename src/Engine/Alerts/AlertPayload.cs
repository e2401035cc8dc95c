using System.Globalization;
using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Alerts;

/// <summary>
/// The bodies a notice is sent as: a generic JSON object, a Slack-compatible <c>{"text": ...}</c>, or a Teams-compatible
/// <c>MessageCard</c>. Written with <see cref="Utf8JsonWriter"/> (no reflection: the native supervisor builds them too).
/// </summary>
public static class AlertPayload
{
    /// <summary>The body of <paramref name="notice"/> in <paramref name="format"/>, as UTF-8 JSON text.</summary>
    public static string Build(AlertNotice notice, AlertFormat format)
    {
        ArgumentNullException.ThrowIfNull(notice);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            switch (format)
            {
                case AlertFormat.Slack:
                    json.WriteStartObject();
                    json.WriteString("text", notice.Text);
                    json.WriteEndObject();
                    break;

                case AlertFormat.Teams:
                    WriteTeams(json, notice);
                    break;

                default:
                    WriteGeneric(json, notice);
                    break;
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The status word of a notice: <c>firing</c>, <c>resolved</c> or <c>test</c>.</summary>
    public static string StatusWord(AlertNoticeKind kind) => kind switch
    {
        AlertNoticeKind.Resolved => "resolved",
        AlertNoticeKind.Test => "test",
        _ => "firing",
    };

    private static void WriteGeneric(Utf8JsonWriter json, AlertNotice notice)
    {
        json.WriteStartObject();
        json.WriteString("schema", "alert_notice/1");
        json.WriteString("status", StatusWord(notice.Kind));
        json.WriteString("rule", notice.Rule);
        json.WriteString("service", notice.Service);
        json.WriteString("trigger", AlertPolicy.StatusTrigger(notice.Trigger));
        json.WriteString("time", notice.Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("host", notice.Host);
        json.WriteNumber("suppressed", notice.Suppressed);
        json.WriteString("text", notice.Text);
        if (notice.Event is { } stabilityEvent)
        {
            json.WritePropertyName("event");
            json.WriteRawValue(JsonSerializer.Serialize(stabilityEvent, StatusJson.TypeInfo<StabilityEvent>()));
        }
        else
        {
            json.WriteNull("event");
        }

        json.WriteEndObject();
    }

    private static void WriteTeams(Utf8JsonWriter json, AlertNotice notice)
    {
        var status = StatusWord(notice.Kind);
        json.WriteStartObject();
        json.WriteString("@type", "MessageCard");
        json.WriteString("@context", "https://schema.org/extensions");
        json.WriteString("themeColor", notice.Kind switch { AlertNoticeKind.Firing => "D70000", AlertNoticeKind.Resolved => "2EB886", _ => "0076D7" });
        json.WriteString("summary", $"{status}: {notice.Service} {AlertPolicy.StatusTrigger(notice.Trigger)}");
        json.WriteString("title", $"StabilityTools {status}: '{notice.Service}' ({AlertPolicy.StatusTrigger(notice.Trigger)})");
        json.WriteString("text", notice.Text);
        json.WriteStartArray("sections");
        json.WriteStartObject();
        json.WriteStartArray("facts");
        Fact(json, "Rule", notice.Rule);
        Fact(json, "Service", notice.Service);
        Fact(json, "Trigger", AlertPolicy.StatusTrigger(notice.Trigger));
        Fact(json, "Status", status);
        Fact(json, "Host", notice.Host);
        Fact(json, "Time", notice.Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        if (notice.Suppressed > 0)
        {
            Fact(json, "Suppressed", notice.Suppressed.ToString(CultureInfo.InvariantCulture));
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Fact(Utf8JsonWriter json, string name, string value)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("value", value);
        json.WriteEndObject();
    }
}
