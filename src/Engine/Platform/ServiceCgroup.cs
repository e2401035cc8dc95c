using System.Diagnostics;
using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// A cgroup v1 freezer group per service (<c>/sys/fs/cgroup/freezer/stability-tools/&lt;service&gt;-&lt;hash of the
/// state directory&gt;</c>), where the platform offers one (Linux, cgroup v1, writable: root). Every process the service
/// forks stays in it whatever it does (new sessions, double forks, re-parenting to init), so a kill of the group
/// is leak-proof: freeze (nothing can fork any more), SIGKILL every member, thaw. Elsewhere <see cref="TryOpen"/>
/// returns null and callers fall back to walking <c>/proc</c>.
/// </summary>
public sealed class ServiceCgroup
{
    /// <summary>The freezer hierarchy's mount point.</summary>
    public const string FreezerRoot = "/sys/fs/cgroup/freezer";

    private ServiceCgroup(string path) => Path = path;

    /// <summary>The group's directory.</summary>
    public string Path { get; }

    /// <summary>The group's directory for <paramref name="service"/> in the state directory <paramref name="stateRoot"/> (whether or not it exists).</summary>
    public static string PathFor(string stateRoot, string service)
    {
        return System.IO.Path.Combine(FreezerRoot, "stability-tools", $"{service}-{StateRootTag.Of(stateRoot)}");
    }

    /// <summary>Opens (creating when <paramref name="create"/>) the group; null when the freezer is not available here.</summary>
    public static ServiceCgroup? TryOpen(string stateRoot, string service, bool create)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(System.IO.Path.Combine(FreezerRoot, "cgroup.procs")))
        {
            return null;
        }

        var path = PathFor(stateRoot, service);
        try
        {
            if (create)
            {
                Directory.CreateDirectory(path);
            }

            return File.Exists(System.IO.Path.Combine(path, "freezer.state")) ? new ServiceCgroup(path) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Moves <paramref name="pid"/> into the group; its later children are born there. False when that failed.</summary>
    public bool Add(int pid) => TryWrite("cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>The pids in the group now.</summary>
    public IReadOnlyList<int> Members()
    {
        try
        {
            return File.ReadAllLines(System.IO.Path.Combine(Path, "cgroup.procs"))
                .Select(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(p => p > 0)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// Kills every member: freeze, SIGKILL each, thaw (a frozen process dies only once thawed), and waits until the
    /// group is empty or <paramref name="timeout"/> passes.
    /// </summary>
    /// <returns>The members still there at the end: empty on success.</returns>
    public IReadOnlyList<int> KillAll(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        if (Members().Count == 0)
        {
            return [];
        }

        // Frozen, no member can fork a new one between the read of the member list and the kill.
        if (TryWrite("freezer.state", "FROZEN"))
        {
            while (ReadState() == "FREEZING" && clock.Elapsed < timeout)
            {
                Thread.Sleep(1);
            }
        }

        foreach (var pid in Members())
        {
            Native.Signal(pid, Native.SIGKILL);
        }

        TryWrite("freezer.state", "THAWED");
        while (true)
        {
            var left = Members();
            if (left.Count == 0 || clock.Elapsed >= timeout)
            {
                return left;
            }

            foreach (var pid in left)
            {
                Native.Signal(pid, Native.SIGKILL);
            }

            Thread.Sleep(2);
        }
    }

    /// <summary>Removes the group once it is empty (waiting up to <paramref name="timeout"/>, default 3 s: a many-threaded process leaves its group busy a while after its last thread is gone); harmless otherwise.</summary>
    /// <returns>True when the group is gone.</returns>
    public bool TryRemove(TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Directory.Delete(Path);
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Busy while the kernel still releases the last exited member; after the wait it stays for the next start.
                if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(3)))
                {
                    return false;
                }

                Thread.Sleep(10);
            }
        }
    }

    private string? ReadState()
    {
        try
        {
            return File.ReadAllText(System.IO.Path.Combine(Path, "freezer.state")).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private bool TryWrite(string file, string value)
    {
        try
        {
            File.WriteAllText(System.IO.Path.Combine(Path, file), value);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
