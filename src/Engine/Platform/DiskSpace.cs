namespace StabilityTools.Engine.Platform;

/// <summary>The free space of the file system that holds a path (statvfs on Unix, the volume's figures on Windows).</summary>
/// <param name="FreeBytes">Bytes an unprivileged writer can still use.</param>
/// <param name="TotalBytes">The file system's size.</param>
public readonly record struct DiskSpace(long FreeBytes, long TotalBytes)
{
    /// <summary>The free space where <paramref name="path"/> lives; null when it cannot be told (a path gone, a file system that will not say).</summary>
    public static DiskSpace? Of(string path)
    {
        try
        {
            // On Unix DriveInfo asks statvfs(2) about the very path given, mount point or not.
            var drive = new DriveInfo(OperatingSystem.IsWindows() ? Path.GetPathRoot(Path.GetFullPath(path))! : path);
            return drive.TotalSize > 0 ? new DiskSpace(drive.AvailableFreeSpace, drive.TotalSize) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
