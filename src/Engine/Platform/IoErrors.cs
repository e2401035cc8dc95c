namespace StabilityTools.Engine.Platform;

/// <summary>Classifies I/O exceptions portably (errno on Unix, Win32 codes on Windows).</summary>
public static class IoErrors
{
    private const int EAGAIN = 11;          // Linux EAGAIN == EWOULDBLOCK: flock(LOCK_NB) on a held lock
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;
    private const int MacEWOULDBLOCK = 35;
    private const int ErrorSharingViolation = 32;
    private const int ErrorLockViolation = 33;
    private const int ErrorHandleDiskFull = 39;
    private const int ErrorDiskFull = 112;

    /// <summary>The file is locked or opened exclusively by someone else: worth a retry.</summary>
    public static bool IsSharingViolation(IOException ex)
    {
        var code = ex.HResult;
        if (OperatingSystem.IsWindows())
        {
            var win32 = code & 0xFFFF;
            return win32 is ErrorSharingViolation or ErrorLockViolation;
        }

        return code is EAGAIN or MacEWOULDBLOCK;
    }

    /// <summary>The file system (or the user's quota on it) is full.</summary>
    public static bool IsDiskFull(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException io)
            {
                var code = io.HResult;
                if (OperatingSystem.IsWindows())
                {
                    if ((code & 0xFFFF) is ErrorDiskFull or ErrorHandleDiskFull)
                    {
                        return true;
                    }
                }
                else if (code is ENOSPC or EDQUOT)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
