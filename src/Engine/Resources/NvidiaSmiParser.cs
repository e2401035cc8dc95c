using StabilityTools.Engine.Models;
using System.Globalization;

namespace StabilityTools.Engine.Resources;

/// <summary>
/// Parses the CSV that <c>nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]</c> and
/// <c>--query-compute-apps=…</c> print: with or without the header line and the units (<c>MiB</c>, <c>%</c>),
/// with <c>[N/A]</c> / <c>[Not Supported]</c> for values a device does not report, and with the
/// "No running processes found" line older drivers print for an empty process list.
/// </summary>
public static class NvidiaSmiParser
{
    /// <summary>The query for devices, in the column order <see cref="ParseDevices"/> expects.</summary>
    public const string DeviceQuery = "index,uuid,name,memory.total,memory.used,utilization.gpu";

    /// <summary>The query for compute processes, in the column order <see cref="ParseProcesses"/> expects.</summary>
    public const string ProcessQuery = "pid,gpu_uuid,used_memory";

    /// <summary>Parses the device list.</summary>
    /// <exception cref="FormatException">A line has the wrong number of columns or an unreadable index.</exception>
    public static IReadOnlyList<GpuDevice> ParseDevices(string csv)
    {
        var devices = new List<GpuDevice>();
        foreach (var fields in Rows(csv, 6, "index"))
        {
            devices.Add(new GpuDevice(
                int.Parse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture),
                Name: fields[2],
                Uuid: fields[1],
                MemoryTotalMb: Number(fields[3]),
                MemoryUsedMb: Number(fields[4]),
                UtilizationPercent: Number(fields[5]),
                SampledAt: DateTimeOffset.UtcNow));
        }

        return devices;
    }

    /// <summary>Parses the compute-process list, matching each process's GPU UUID to a device index.</summary>
    /// <exception cref="FormatException">A line has the wrong number of columns or an unreadable pid.</exception>
    public static IReadOnlyList<GpuProcessUsage> ParseProcesses(string csv, IReadOnlyList<GpuDevice> devices)
    {
        var processes = new List<GpuProcessUsage>();
        foreach (var fields in Rows(csv, 3, "pid"))
        {
            var uuid = fields[1];
            var index = devices.FirstOrDefault(d => string.Equals(d.Uuid, uuid, StringComparison.OrdinalIgnoreCase))?.Index ?? -1;
            processes.Add(new GpuProcessUsage(int.Parse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture), index, uuid, Number(fields[2])));
        }

        return processes;
    }

    private static IEnumerable<string[]> Rows(string csv, int columns, string headerFirstColumn)
    {
        var lineNumber = 0;
        foreach (var raw in csv.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("No running", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var fields = line.Split(',').Select(f => f.Trim()).ToArray();
            if (fields[0].StartsWith(headerFirstColumn, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (fields.Length != columns)
            {
                throw new FormatException($"nvidia-smi output line {lineNumber} has {fields.Length} columns, expected {columns}: '{line}'.");
            }

            yield return fields;
        }
    }

    /// <summary>A number with its unit stripped, or null for [N/A], [Not Supported] and the like.</summary>
    private static double? Number(string field)
    {
        var text = field;
        foreach (var unit in new[] { "MiB", "%", "W", "MHz" })
        {
            if (text.EndsWith(unit, StringComparison.Ordinal))
            {
                text = text[..^unit.Length].Trim();
                break;
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}
