namespace StabilityTools.Engine.Platform;

/// <summary>A mounted file system: where it is mounted and its type (<c>ext4</c>, <c>nfs4</c>, <c>lustre</c>…).</summary>
public sealed record MountedFileSystem(string MountPoint, string Type)
{
    /// <summary>
    /// File system types whose files the nodes of a cluster can share. FUSE file systems (sshfs, JuiceFS, gcsfuse…)
    /// count: most that are mounted on a cluster are network ones.
    /// </summary>
    private static readonly HashSet<string> SharedTypes = new(StringComparer.Ordinal)
    {
        "nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "smbfs", "ceph", "cephfs", "glusterfs", "panfs",
        "wekafs", "ocfs2", "gfs2", "afs", "orangefs", "pvfs2", "9p", "virtiofs", "quobyte", "cvfs",
    };

    /// <summary>True when the type is one that several machines can share.</summary>
    public bool IsShared => SharedTypes.Contains(Type) || Type.StartsWith("fuse.", StringComparison.Ordinal) || Type == "fuse";
}

/// <summary>Reads the mount table (Linux <c>/proc/self/mountinfo</c>).</summary>
public static class MountTable
{
    /// <summary>The file system that holds <paramref name="path"/>; null where the mount table cannot be read.</summary>
    public static MountedFileSystem? FileSystemOf(string path, string mountInfoPath = "/proc/self/mountinfo")
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(mountInfoPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var full = Path.GetFullPath(path);
        MountedFileSystem? best = null;
        foreach (var line in lines)
        {
            if (Parse(line) is not { } mount)
            {
                continue;
            }

            var prefix = mount.MountPoint.EndsWith('/') ? mount.MountPoint : mount.MountPoint + "/";
            var contains = full == mount.MountPoint || full.StartsWith(prefix, StringComparison.Ordinal);
            // The longest mount point that contains the path wins; a later line with the same point is mounted over the earlier.
            if (contains && (best is null || mount.MountPoint.Length >= best.MountPoint.Length))
            {
                best = mount;
            }
        }

        return best;
    }

    /// <summary>Parses one mountinfo line: <c>id parent major:minor root mount-point options [tags…] - type source super-options</c>.</summary>
    internal static MountedFileSystem? Parse(string line)
    {
        var fields = line.Split(' ');
        var separator = Array.IndexOf(fields, "-");
        if (fields.Length < 5 || separator < 6 || separator + 1 >= fields.Length)
        {
            return null;
        }

        return new MountedFileSystem(Unescape(fields[4]), fields[separator + 1]);
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (<c>\040</c>…).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }

        var text = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
