using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// A supervisor started from inside a service (a sweep's controller starting its trials, a user's script starting a
/// service) is born in that service's cgroups, where a stop of that service would kill it and leave its own service
/// unsupervised. It leaves them at start: every supervisor is its own, outside any other service's group.
/// </summary>
public static class InheritedCgroups
{
    private const string Marker = "/stability-tools/";

    /// <summary>Moves this process out of every <c>stability-tools</c> group it was born in (to the hierarchy's root); returns the hierarchies it left.</summary>
    public static IReadOnlyList<string> Leave()
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }

        var left = new List<string>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/self/cgroup");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        foreach (var line in lines)
        {
            // "id:controllers:path"; cgroup v2 is "0::path".
            var parts = line.Split(':', 3);
            if (parts.Length != 3 || !(parts[2] + "/").Contains(Marker, StringComparison.Ordinal))
            {
                continue;
            }

            var controllers = parts[1].Split(',');
            var root = parts[1].Length == 0 ? "/sys/fs/cgroup"
                : controllers.Contains("freezer") ? "/sys/fs/cgroup/freezer"
                : controllers.Contains("memory") ? "/sys/fs/cgroup/memory"
                : null;
            if (root is null)
            {
                continue;
            }

            try
            {
                File.WriteAllText(Path.Combine(root, "cgroup.procs"), pid);
                left.Add(root);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not ours to move (no root): the stop of the other service may then reach this supervisor, as before.
            }
        }

        return left;
    }
}
