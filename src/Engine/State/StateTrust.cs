using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.State;

/// <summary>
/// Whether a state directory may be used (docs/SECURITY.md; OpenSSH's StrictModes, git's safe.directory): the
/// directory and every product folder in it must be owned by the caller or root and not writable by group or others,
/// and no folder above it may let anyone else swap it (owned by the caller or root; writable by others only with the
/// sticky bit, as <c>/tmp</c> is). Whoever can write a folder can plant links and files there or replace a spec, and
/// the product runs what a spec says.
/// </summary>
public static class StateTrust
{
    // The folders the product creates directly under the root; their per-service and per-run children are checked too.
    private static readonly string[] ProductFolders = ["services", "data", "resources", "models", "runs"];

    /// <summary>Judges the state directory at <paramref name="root"/> (an absolute path); a missing root is judged by the folders above it.</summary>
    public static TrustVerdict Check(string root)
    {
        if (OperatingSystem.IsWindows())
        {
            return TrustVerdict.Trusted("not checked on Windows: the profile folder's ACL decides");
        }

        var me = Native.GetEffectiveUserId();
        if (CheckAncestors(root, me) is { } above)
        {
            return above;
        }

        if (!FileStatus.TryLstat(root, out var rootStatus))
        {
            return TrustVerdict.Trusted("does not exist yet; it will be created owner-only (0700)");
        }

        if (rootStatus.IsSymbolicLink)
        {
            // A link the owner made (~/.local/state/stability-tools -> /data/...) is fine; judge where it leads.
            if (!SafeFile.IsTrustedOwner(rootStatus.Uid))
            {
                return Untrusted(root, rootStatus, "is a symbolic link owned by someone else", $"rm '{root}' (it is a link), then run the command again");
            }

            var target = Directory.ResolveLinkTarget(root, returnFinalTarget: true)?.FullName;
            return target is null || string.Equals(target, root, StringComparison.Ordinal)
                ? TrustVerdict.Untrusted(root, "is a symbolic link that cannot be resolved", $"remove the link '{root}'")
                : Check(target);
        }

        if (CheckFolder(root, rootStatus) is { } bad)
        {
            return bad;
        }

        foreach (var folder in ProductFolders)
        {
            var path = Path.Combine(root, folder);
            if (CheckExisting(path) is { } badFolder)
            {
                return badFolder;
            }

            // runs/ is judged as a folder only: no one else can add, swap or link a run in a runs/ that only we (or root)
            // can write, and there may be thousands of runs, which every cmdlet call would otherwise stat.
            if ((folder is "services" or "models") && Directory.Exists(path))
            {
                foreach (var child in SafeEnumerate(path))
                {
                    // A file of ours among the folders (a lock, a checkpoint) is not a folder to judge; anything else is.
                    if (FileStatus.TryLstat(child, out var entry) && entry.IsRegularFile && SafeFile.IsTrustedOwner(entry.Uid))
                    {
                        continue;
                    }

                    if (CheckExisting(child) is { } badChild)
                    {
                        return badChild;
                    }

                    if (folder == "services" && CheckExisting(Path.Combine(child, "logs")) is { } badLogs)
                    {
                        return badLogs;
                    }
                }
            }
        }

        return TrustVerdict.Trusted($"owned by {SafeFile.UserName(rootStatus.Uid)}, mode {rootStatus.ModeOctal}; every product folder is yours or root's and writable by no one else");
    }

    private static TrustVerdict? CheckExisting(string path)
    {
        if (!FileStatus.TryLstat(path, out var status))
        {
            return null;
        }

        if (status.IsSymbolicLink)
        {
            return Untrusted(path, status, "is a symbolic link where a product folder belongs", $"rm '{path}' (and find out who put it there)");
        }

        if (!status.IsDirectory)
        {
            return Untrusted(path, status, "is not a folder", $"rm '{path}'");
        }

        return CheckFolder(path, status);
    }

    private static TrustVerdict? CheckFolder(string path, FileStatus status)
    {
        if (!SafeFile.IsTrustedOwner(status.Uid))
        {
            return Untrusted(path, status, "is owned by someone else", $"chown -R {SafeFile.UserName(Native.GetEffectiveUserId())} '{path}' && chmod -R go-w '{path}' (after checking what is in it), or choose another state directory with -StateDirectory or STABILITY_HOME");
        }

        if (status.IsGroupOrWorldWritable)
        {
            return Untrusted(path, status, "is writable by group or others", $"chmod go-w '{path}' (the product wants 0700)");
        }

        return null;
    }

    private static TrustVerdict? CheckAncestors(string root, int me)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root));
        var chain = new List<string>();
        for (var p = parent; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            chain.Add(p);
        }

        chain.Reverse();
        foreach (var folder in chain)
        {
            if (!FileStatus.TryLstat(folder, out var status))
            {
                // Not there yet: Open creates it (owner-only) and nothing else can be judged below it.
                return null;
            }

            if (status.IsSymbolicLink)
            {
                if (!SafeFile.IsTrustedOwner(status.Uid))
                {
                    return Untrusted(folder, status, "above the state directory is a symbolic link owned by someone else", "use a path without it, with -StateDirectory or STABILITY_HOME");
                }

                // The link's owner is trusted; where it leads is judged as a path of its own.
                var target = Directory.ResolveLinkTarget(folder, returnFinalTarget: true)?.FullName;
                if (target is not null && !string.Equals(target, folder, StringComparison.Ordinal))
                {
                    var rest = Path.GetRelativePath(folder, root);
                    return CheckAncestors(Path.GetFullPath(Path.Combine(target, rest)), me);
                }

                continue;
            }

            if (!SafeFile.IsTrustedOwner(status.Uid))
            {
                return Untrusted(folder, status, "above the state directory is owned by someone else, who could swap the state directory", "choose a state directory below folders owned by you or root (-StateDirectory or STABILITY_HOME)");
            }

            // Others may write a folder above only where the sticky bit keeps them from renaming our entries (/tmp);
            // a group-writable home of the user's own private group (the Debian/Ubuntu convention) is fine.
            var worldWritable = (status.Permissions & 0x2 /* 002 */) != 0;
            var groupWritable = (status.Permissions & 0x10 /* 020 */) != 0;
            if ((worldWritable || (groupWritable && !IsPrivateGroup(status))) && !status.IsSticky)
            {
                return Untrusted(folder, status, "above the state directory is writable by others without the sticky bit, so they could swap the state directory", $"chmod go-w '{folder}', or choose another state directory");
            }
        }

        return null;
    }

    private static bool IsPrivateGroup(FileStatus status) =>
        UserAccount.Find(status.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } owner && owner.Gid == status.Gid && status.Uid != 0;

    private static IEnumerable<string> SafeEnumerate(string path)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(path).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static TrustVerdict Untrusted(string path, FileStatus status, string problem, string fix) =>
        TrustVerdict.Untrusted(path, $"{problem} ({status.Describe()})", fix);
}
