using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// What the kernel says about a file: type, permission bits and owner (Linux <c>statx(2)</c>, whose layout is the
/// same on every architecture, unlike <c>struct stat</c>).
/// </summary>
/// <param name="Mode">The whole <c>st_mode</c>: type and permission bits.</param>
/// <param name="Uid">The owner's uid.</param>
/// <param name="Gid">The group's gid.</param>
public readonly partial record struct FileStatus(int Mode, int Uid, int Gid)
{
    private const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFLNK = 0xA000;
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC = 0x7FF;

    /// <summary>A regular file.</summary>
    public bool IsRegularFile => (Mode & S_IFMT) == S_IFREG;

    /// <summary>A directory.</summary>
    public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;

    /// <summary>A symbolic link (only an <see cref="TryLstat"/> sees one).</summary>
    public bool IsSymbolicLink => (Mode & S_IFMT) == S_IFLNK;

    /// <summary>The permission bits, e.g. 0o700.</summary>
    public int Permissions => Mode & 0xFFF /* 07777 */;

    /// <summary>Writable by the group or by others.</summary>
    public bool IsGroupOrWorldWritable => (Mode & 0x12 /* 022 */) != 0;

    /// <summary>The sticky bit (only an entry's owner may rename or delete it, as in <c>/tmp</c>).</summary>
    public bool IsSticky => (Mode & 0x200 /* 01000 */) != 0;

    /// <summary>The permission bits as <c>ls</c>-style octal, e.g. <c>0755</c>.</summary>
    public string ModeOctal => "0" + Convert.ToString(Permissions, 8).PadLeft(3, '0');

    /// <summary>The status of an open file.</summary>
    /// <exception cref="IOException">statx failed.</exception>
    public static FileStatus Of(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        if (statx((int)handle.DangerousGetHandle(), "", AT_EMPTY_PATH, STATX_BASIC, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"statx failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        return FromBuffer(buffer);
    }

    /// <summary>The status of the name itself (a link is not followed); false when nothing is there or it cannot be asked.</summary>
    public static bool TryLstat(string path, out FileStatus status)
    {
        status = default;
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        var buffer = new byte[256];
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC, buffer) != 0)
        {
            return false;
        }

        status = FromBuffer(buffer);
        return true;
    }

    /// <summary>Describes the owner and mode for messages: <c>uid 1001 (mallory), mode 0777</c>.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"owner {SafeFile.UserName(Uid)} (uid {Uid}), mode {ModeOctal}");

    // struct statx: stx_mask u32 @0, stx_blksize u32 @4, stx_attributes u64 @8, stx_nlink u32 @16, stx_uid u32 @20,
    // stx_gid u32 @24, stx_mode u16 @28.
    private static FileStatus FromBuffer(ReadOnlySpan<byte> buffer) => new(
        BitConverter.ToUInt16(buffer[28..30]),
        (int)BitConverter.ToUInt32(buffer[20..24]),
        (int)BitConverter.ToUInt32(buffer[24..28]));

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);
}
