using System.Globalization;
using System.Text;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Api;

/// <summary>The metric history as CSV (RFC 4180), one record a row, for download.</summary>
internal static class MetricsCsv
{
    public const string Header = "time,run_id,kind,epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,samples_per_sec,learning_rate";

    public static string Write(IReadOnlyList<MetricRecord> records)
    {
        var csv = new StringBuilder(Header.Length + records.Count * 96).Append(Header).Append("\r\n");
        foreach (var r in records)
        {
            csv.Append(r.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)).Append(',')
               .Append(Text(r.RunId)).Append(',')
               .Append(StatusJson.WireName(r.Kind)).Append(',')
               .Append(r.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
               .Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
               .Append(Number(r.TrainLoss)).Append(',')
               .Append(Number(r.TrainAccuracy)).Append(',')
               .Append(Number(r.ValLoss)).Append(',')
               .Append(Number(r.ValAccuracy)).Append(',')
               .Append(Number(r.SamplesPerSec)).Append(',')
               .Append(Number(r.LearningRate)).Append("\r\n");
        }

        return csv.ToString();
    }

    private static string Number(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>A text cell: quoted when needed, and never read as a formula by a spreadsheet.</summary>
    public static string Text(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        // A leading = + - @ would be run as a formula by spreadsheet programs: neutralize it.
        if (value[0] is '=' or '+' or '-' or '@')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
