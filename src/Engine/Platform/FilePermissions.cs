namespace StabilityTools.Engine.Platform;

/// <summary>Owner-only permissions for everything under the state directory (0700 directories, 0600 files on Unix).</summary>
public static class FilePermissions
{
    /// <summary>rwx for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with owner-only permissions where the OS has them.</summary>
    public static DirectoryInfo CreateOwnerOnlyDirectory(string path) => OperatingSystem.IsWindows()
        ? Directory.CreateDirectory(path)
        : Directory.CreateDirectory(path, OwnerOnlyDirectory);

    /// <summary>Options for creating a file with owner-only permissions.</summary>
    public static FileStreamOptions CreateOptions(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
        if (!OperatingSystem.IsWindows() && mode != FileMode.Open && (access & FileAccess.Write) != 0)
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        return options;
    }
}
