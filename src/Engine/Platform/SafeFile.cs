// Overview: every file the product creates or writes goes through here (docs/SECURITY.md). On Unix the file is
// opened with open(2) ourselves, because .NET's FileStream follows symbolic links for every mode but CreateNew:
// O_NOFOLLOW refuses a link at the last component, O_CREAT|O_EXCL refuses any existing name (a link included),
// and an fstat of the open descriptor — the file actually opened, not a name that may have been swapped since —
// checks that it is a regular file owned by us (or root) before a byte is written. Folders above the file are
// the trust check's business (StateTrust): O_NOFOLLOW guards only the last component.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.Platform;

/// <summary>How <see cref="SafeFile.Open"/> treats a name that exists or not.</summary>
public enum SafeFileMode
{
    /// <summary>Create it; fail when the name exists in any form (a temporary or lock file of ours: O_CREAT|O_EXCL).</summary>
    CreateNew,

    /// <summary>Open it when it exists, create it otherwise (a lock file).</summary>
    OpenOrCreate,

    /// <summary>Open for appending, creating it when missing; every write lands at the end (O_APPEND).</summary>
    Append,

    /// <summary>Open an existing file only.</summary>
    Open,
}

/// <summary>Opens product files without following links and only when they are ours (Unix); plain FileStreams elsewhere.</summary>
public static partial class SafeFile
{
    private const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
    private const int O_CREAT = 0x40, O_EXCL = 0x80, O_APPEND = 0x400, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
    private const int ELOOP = 40, EEXIST = 17, ENOENT = 2, EWOULDBLOCK = 11;
    private const int LOCK_EX = 2, LOCK_NB = 4;

    /// <summary>
    /// Opens <paramref name="path"/> for the product: never through a symbolic link, created owner-only (0600
    /// whatever the umask), and refused when the file that was opened is not a regular file owned by this process's
    /// user or root. An existing file of ours with group or other bits is narrowed to 0600.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="mode">What to do about an existing name.</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="share">The sharing on Windows; on Unix <see cref="FileShare.None"/> takes an exclusive <c>flock</c> (non-blocking), as .NET does.</param>
    /// <exception cref="UnsafeFileException">A link, a foreign-owned file or something other than a regular file is at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">Any other failure, with errno in <see cref="Exception.HResult"/> (EAGAIN: the lock is held).</exception>
    public static FileStream Open(string path, SafeFileMode mode, FileAccess access, FileShare share = FileShare.Read)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = mode switch
                {
                    SafeFileMode.CreateNew => FileMode.CreateNew,
                    SafeFileMode.OpenOrCreate => FileMode.OpenOrCreate,
                    SafeFileMode.Append => FileMode.Append,
                    _ => FileMode.Open,
                },
                Access = access,
                Share = share,
                BufferSize = 0,
            });
        }

        var flags = O_NOFOLLOW | O_CLOEXEC | access switch
        {
            FileAccess.Read => O_RDONLY,
            FileAccess.Write => O_WRONLY,
            _ => O_RDWR,
        } | mode switch
        {
            SafeFileMode.CreateNew => O_CREAT | O_EXCL,
            SafeFileMode.OpenOrCreate => O_CREAT,
            SafeFileMode.Append => O_CREAT | O_APPEND,
            _ => 0,
        };

        var fd = open(path, flags, (int)FilePermissions.OwnerOnlyFile);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                ELOOP => new UnsafeFileException(path, "it is a symbolic link; the product never writes through a link"),
                EEXIST when mode == SafeFileMode.CreateNew && IsLink(path) => new UnsafeFileException(path, "a symbolic link was planted at the name of a new file"),
                ENOENT => new FileNotFoundException($"Could not find file '{path}'.", path) { HResult = errno },
                _ => Failure(path, errno),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var status = Verify(handle, path);
            if (mode != SafeFileMode.Open && status.Uid == 0 && Native.GetEffectiveUserId() == 0)
            {
                GiveToFolderOwner(fd, path);
            }

            if (share == FileShare.None && flock(fd, LOCK_EX | LOCK_NB) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException(errno == EWOULDBLOCK ? $"The file '{path}' is locked by another process." : $"Could not lock '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.", errno);
            }

            var stream = new FileStream(handle, access, bufferSize: 0);
            if (mode == SafeFileMode.Append)
            {
                // O_APPEND puts every write at the end; the stream's own position starts at 0 and should say so too.
                stream.Seek(0, SeekOrigin.End);
            }

            return stream;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing file for reading without following a link; the owner is not checked (see <see cref="OwnerOf"/>).</summary>
    /// <exception cref="UnsafeFileException">A symbolic link is at <paramref name="path"/>.</exception>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    public static FileStream OpenRead(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                // Full sharing, delete included, so a writer's rename over this file never fails on Windows.
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0,
            });
        }

        var fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                ELOOP => new UnsafeFileException(path, "it is a symbolic link; the product never reads through a link"),
                ENOENT => new FileNotFoundException($"Could not find file '{path}'.", path) { HResult = errno },
                20 /* ENOTDIR */ => new DirectoryNotFoundException($"Could not find a part of the path '{path}'.") { HResult = errno },
                13 /* EACCES */ or 1 /* EPERM */ => new UnauthorizedAccessException($"Access to the path '{path}' is denied.") { HResult = errno },
                _ => Failure(path, errno),
            };
        }

        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    /// <summary>The owner uid of the open file (what the kernel says), or -1 where there is no such notion (Windows).</summary>
    public static int OwnerOf(FileStream stream) =>
        OperatingSystem.IsWindows() ? -1 : FileStatus.Of(stream.SafeFileHandle).Uid;

    /// <summary>True when <paramref name="uid"/> may own a product file this process uses: its own user, or root.</summary>
    public static bool IsTrustedOwner(int uid) => uid == 0 || uid == Native.GetEffectiveUserId();

    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/>; a link at <paramref name="to"/> is replaced, never followed (rename(2)).</summary>
    public static void Replace(string from, string to) => File.Move(from, to, overwrite: true);

    /// <summary>A temporary name beside <paramref name="path"/> that no one can guess ahead: the pid (for sweeping) and a random part.</summary>
    /// <remarks>
    /// <see cref="Random.Shared"/> is seeded from the OS's entropy, which is all this needs: the name only has to be
    /// unknown ahead (O_EXCL already refuses whatever stands there). The cryptographic generator would load OpenSSL into
    /// every supervisor, some 8 MB of resident memory, for a status write a second.
    /// </remarks>
    public static string TemporaryName(string path) =>
        $"{path}.tmp-{Environment.ProcessId}-{Random.Shared.NextInt64(1L << 48):x12}";

    /// <summary>
    /// True when <paramref name="path"/> lies in a folder handed to <paramref name="uid"/> (a run of a service started
    /// with <c>-RunAsUser</c>): the folders above the file up to the first one not owned by <paramref name="uid"/> are
    /// its, none a link, and that first one is owned by this process's user or root and closed to everyone else (no
    /// group or other bits at all). Only its owner can have put a folder of someone else's there, so what that user
    /// writes in it is theirs to write; a home folder under <c>/home</c> (0755) never qualifies.
    /// </summary>
    public static bool IsInFolderHandedTo(string path, int uid)
    {
        if (OperatingSystem.IsWindows() || uid <= 0)
        {
            return false;
        }

        var handed = false;
        for (var folder = Path.GetDirectoryName(path); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (!FileStatus.TryLstat(folder, out var status) || status.IsSymbolicLink || !status.IsDirectory)
            {
                return false;
            }

            if (status.Uid != uid)
            {
                return handed && IsTrustedOwner(status.Uid) && (status.Permissions & 0x3F /* 077 */) == 0;
            }

            handed = true;
        }

        return false;
    }

    // A file root creates in a folder handed to a user is given to that user, so the service that owns the folder can
    // read what root wrote there (run.json recording a run's end) and replace it later.
    private static void GiveToFolderOwner(int fd, string path)
    {
        var full = Path.GetFullPath(path);
        if (FileStatus.TryLstat(Path.GetDirectoryName(full) ?? "/", out var folder) && folder.IsDirectory && folder.Uid != 0
            && IsInFolderHandedTo(full, folder.Uid) && fchown(fd, folder.Uid, folder.Gid) != 0)
        {
            throw Failure(path, Marshal.GetLastPInvokeError());
        }
    }

    private static FileStatus Verify(SafeFileHandle handle, string path)
    {
        var status = FileStatus.Of(handle);
        if (!status.IsRegularFile)
        {
            throw new UnsafeFileException(path, $"it is not a regular file (mode {status.ModeOctal})");
        }

        if (!IsTrustedOwner(status.Uid) && !IsInFolderHandedTo(Path.GetFullPath(path), status.Uid))
        {
            throw new UnsafeFileException(path, $"it is owned by {UserName(status.Uid)} (uid {status.Uid}), not by you or root; someone else put it there") { OwnerUid = status.Uid };
        }

        if ((status.Mode & 0x3F /* 077 */) != 0 && status.Uid == Native.GetEffectiveUserId())
        {
            fchmod((int)handle.DangerousGetHandle(), (int)FilePermissions.OwnerOnlyFile);
        }

        return status;
    }

    private static bool IsLink(string path) => FileStatus.TryLstat(path, out var status) && status.IsSymbolicLink;

    /// <summary>The account name of <paramref name="uid"/>, or the number.</summary>
    public static string UserName(int uid) => UserAccount.Find(uid.ToString(System.Globalization.CultureInfo.InvariantCulture))?.Name ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static IOException Failure(string path, int errno) => errno switch
    {
        13 or 1 => new IOException($"Access to the path '{path}' is denied.", errno),
        _ => new IOException($"Could not open '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.", errno),
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown(int fd, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int flock(int fd, int operation);
}
