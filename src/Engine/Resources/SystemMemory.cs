using System.Globalization;

namespace StabilityTools.Engine.Resources;

/// <summary>Physical memory of the machine: <c>/proc/meminfo</c> on Linux, the GC's view elsewhere.</summary>
public static class SystemMemory
{
    /// <summary>Total and available memory, MiB.</summary>
    public static (double TotalMb, double AvailableMb) Read()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                double? total = null, available = null;
                foreach (var line in File.ReadLines("/proc/meminfo"))
                {
                    if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    {
                        total = Kilobytes(line) / 1024;
                    }
                    else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    {
                        available = Kilobytes(line) / 1024;
                    }
                }

                if (total is { } t && available is { } a)
                {
                    return (t, a);
                }
            }
            catch (IOException)
            {
                // Fall through to the GC's figures.
            }
        }

        var info = GC.GetGCMemoryInfo();
        var totalMb = info.TotalAvailableMemoryBytes / 1048576.0;
        return (totalMb, Math.Max(0, totalMb - (info.MemoryLoadBytes / 1048576.0)));
    }

    private static double Kilobytes(string line) =>
        double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture);
}
