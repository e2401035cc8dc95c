using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>Owner-only permissions for everything under the state directory (0700 directories, 0600 files on Unix).</summary>
public static partial class FilePermissions
{
    /// <summary>rwx for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> and every missing parent with owner-only permissions where the OS has them.</summary>
    public static DirectoryInfo CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(path);
        }

        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only; missing parents get the
        // umask's 0755. So each missing folder is created on its own, top down.
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (var p = full; !string.IsNullOrEmpty(p) && !Directory.Exists(p); p = Path.GetDirectoryName(p))
        {
            missing.Push(p);
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, OwnerOnlyDirectory);
        }

        return new DirectoryInfo(full);
    }

    /// <summary>Gives <paramref name="path"/> itself (a link is never followed) to <paramref name="uid"/>:<paramref name="gid"/>; Unix only, needs root.</summary>
    /// <exception cref="IOException">lchown failed; errno in <see cref="Exception.HResult"/>.</exception>
    public static void ChangeOwner(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Could not give '{path}' to uid {uid}: {Marshal.GetPInvokeErrorMessage(errno)}.", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown(string path, int uid, int gid);
}
