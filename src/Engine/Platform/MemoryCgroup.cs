using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// A per-service memory cgroup, where the platform offers a writable one: cgroup v2 (<c>memory.max</c>) or the v1
/// memory controller (<c>memory.limit_in_bytes</c>). A limit set here is enforced by the kernel (the service's
/// processes are reclaimed, then OOM-killed inside the group), so it holds even between two samples. Elsewhere
/// <see cref="TryOpen"/> returns null and limits are enforced by sampling.
/// </summary>
public sealed class MemoryCgroup
{
    private const string UnifiedRoot = "/sys/fs/cgroup";
    private const string V1Root = "/sys/fs/cgroup/memory";

    private MemoryCgroup(string path, bool unified)
    {
        Path = path;
        IsUnified = unified;
    }

    /// <summary>The group's directory.</summary>
    public string Path { get; }

    /// <summary>True for cgroup v2, false for the v1 memory controller.</summary>
    public bool IsUnified { get; }

    /// <summary>Opens (creating when <paramref name="create"/>) the group of <paramref name="service"/>; null when no writable memory cgroup exists here.</summary>
    public static MemoryCgroup? TryOpen(string stateRoot, string service, bool create)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var name = $"{service}-{StateRootTag.Of(stateRoot)}";
        try
        {
            if (File.Exists(System.IO.Path.Combine(UnifiedRoot, "cgroup.controllers"))
                && File.ReadAllText(System.IO.Path.Combine(UnifiedRoot, "cgroup.controllers")).Split(' ', '\n').Contains("memory"))
            {
                var parent = System.IO.Path.Combine(UnifiedRoot, "stability-tools");
                if (create)
                {
                    // v2 hands a controller to children only when each ancestor enables it for its subtree.
                    TryWrite(System.IO.Path.Combine(UnifiedRoot, "cgroup.subtree_control"), "+memory");
                    Directory.CreateDirectory(parent);
                    TryWrite(System.IO.Path.Combine(parent, "cgroup.subtree_control"), "+memory");
                    Directory.CreateDirectory(System.IO.Path.Combine(parent, name));
                }

                var path = System.IO.Path.Combine(parent, name);
                return File.Exists(System.IO.Path.Combine(path, "memory.max")) ? new MemoryCgroup(path, unified: true) : null;
            }

            if (File.Exists(System.IO.Path.Combine(V1Root, "memory.limit_in_bytes")))
            {
                var path = System.IO.Path.Combine(V1Root, "stability-tools", name);
                if (create)
                {
                    Directory.CreateDirectory(path);
                }

                return File.Exists(System.IO.Path.Combine(path, "memory.limit_in_bytes")) ? new MemoryCgroup(path, unified: false) : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not root, or a read-only cgroup file system: sampling it is.
        }

        return null;
    }

    /// <summary>Moves <paramref name="pid"/> into the group; its later children are born there.</summary>
    public bool Add(int pid) => TryWrite(System.IO.Path.Combine(Path, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Sets the hard limit, or removes it when null. False when the kernel refused (e.g. below current use in v1).</summary>
    public bool SetLimit(long? bytes) => IsUnified
        ? TryWrite(System.IO.Path.Combine(Path, "memory.max"), bytes is { } b ? b.ToString(CultureInfo.InvariantCulture) : "max")
        : TryWrite(System.IO.Path.Combine(Path, "memory.limit_in_bytes"), bytes is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-1");

    /// <summary>The hard limit in force, in bytes; null when there is none.</summary>
    public long? ReadLimit()
    {
        try
        {
            var text = File.ReadAllText(System.IO.Path.Combine(Path, IsUnified ? "memory.max" : "memory.limit_in_bytes")).Trim();
            // v1 reports "no limit" as a huge page-rounded number.
            return text == "max" || !long.TryParse(text, out var bytes) || bytes >= long.MaxValue / 2 ? null : bytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// How often the group has run into its limit: v1 <c>memory.failcnt</c>, v2 the <c>max</c> and <c>oom_kill</c>
    /// counts of <c>memory.events</c> (0 when the kernel does not say). A service that dies while this grows was ended by
    /// its limit: by the kernel's OOM killer, or by its own runtime failing an allocation (.NET aborts, for one).
    /// </summary>
    public long LimitHits()
    {
        try
        {
            if (!IsUnified)
            {
                return long.TryParse(File.ReadAllText(System.IO.Path.Combine(Path, "memory.failcnt")).Trim(), out var failures) ? failures : 0;
            }

            return File.ReadLines(System.IO.Path.Combine(Path, "memory.events"))
                .Select(l => l.Split(' '))
                .Where(f => f.Length == 2 && f[0] is "max" or "oom_kill")
                .Sum(f => long.TryParse(f[1], out var n) ? n : 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Removes the group (it must be empty). False when it could not be removed yet.</summary>
    public bool TryRemove()
    {
        try
        {
            Directory.Delete(Path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool TryWrite(string file, string value)
    {
        try
        {
            File.WriteAllText(file, value);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
