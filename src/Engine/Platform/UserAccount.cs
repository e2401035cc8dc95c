using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>A local user account (Unix <c>/etc/passwd</c>), for running a service as another user.</summary>
/// <param name="Name">The user name.</param>
/// <param name="Uid">The user id.</param>
/// <param name="Gid">The primary group id.</param>
/// <param name="Home">The home directory.</param>
public sealed record UserAccount(string Name, int Uid, int Gid, string Home)
{
    /// <summary>True when the current process runs as root (effective uid 0).</summary>
    public static bool IsRoot => !OperatingSystem.IsWindows() && Native.GetEffectiveUserId() == 0;

    /// <summary>The account named <paramref name="name"/> (or with that numeric uid), or null when there is none.</summary>
    public static UserAccount? Find(string name, string passwdPath = "/etc/passwd")
    {
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(name) || !File.Exists(passwdPath))
        {
            return null;
        }

        foreach (var line in File.ReadLines(passwdPath))
        {
            var fields = line.Split(':');
            if (fields.Length < 7
                || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                || !int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
            {
                continue;
            }

            if (fields[0] == name || fields[2] == name)
            {
                return new UserAccount(fields[0], uid, gid, fields[5]);
            }
        }

        return null;
    }

    /// <summary>
    /// Why this user cannot run <paramref name="program"/> (an absolute path): the first folder above it they may not
    /// enter, or the program itself they may not read and execute, judged from the mode bits for their uid, primary
    /// group and the groups that list them in <c>/etc/group</c>; null when they can. A check before a start, so a
    /// service as another user fails with the reason, not with an exit code from setpriv.
    /// </summary>
    public string? CannotRun(string program, string groupPath = "/etc/group") => CannotReach(program, 5 /* r-x */, groupPath);

    /// <summary>Why this user cannot read <paramref name="path"/> (a folder above it closed to them, or the file itself); null when they can.</summary>
    public string? CannotRead(string path, string groupPath = "/etc/group") => CannotReach(path, 4 /* r */, groupPath);

    private string? CannotReach(string program, int wanted, string groupPath)
    {
        if (OperatingSystem.IsWindows() || Uid == 0)
        {
            return null;
        }

        var groups = GroupsOf(groupPath);
        var full = Path.GetFullPath(program);
        var chain = new List<string>();
        for (var p = Path.GetDirectoryName(full); !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            chain.Add(p);
        }

        chain.Reverse();
        foreach (var folder in chain)
        {
            if (!Allows(folder, 1 /* x */, groups, out var status))
            {
                return $"they may not enter '{folder}' ({status.Describe()})";
            }
        }

        // Follow the program's own link, if any: what runs is its target, and a link's own bits mean nothing.
        var target = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        return Allows(target, wanted, groups, out var own, follow: true)
            ? null
            : $"they may not {(wanted == 4 ? "read" : "read and execute")} '{target}' ({own.Describe()})";
    }

    private bool Allows(string path, int wanted, HashSet<int> groups, out FileStatus status, bool follow = false)
    {
        if (!FileStatus.TryLstat(path, out status))
        {
            return false;
        }

        if (status.IsSymbolicLink && !follow)
        {
            // A linked folder above the program: judge where it leads.
            var target = Directory.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName;
            return target is not null && target != path && Allows(target, wanted, groups, out status);
        }

        var shift = status.Uid == Uid ? 6 : groups.Contains(status.Gid) ? 3 : 0;
        return ((status.Permissions >> shift) & wanted) == wanted;
    }

    private HashSet<int> GroupsOf(string groupPath)
    {
        var groups = new HashSet<int> { Gid };
        if (File.Exists(groupPath))
        {
            foreach (var line in File.ReadLines(groupPath))
            {
                var fields = line.Split(':');
                if (fields.Length >= 4 && fields[3].Split(',').Contains(Name, StringComparer.Ordinal)
                    && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
                {
                    groups.Add(gid);
                }
            }
        }

        return groups;
    }
}
