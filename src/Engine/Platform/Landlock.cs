using System.Runtime.InteropServices;

namespace StabilityTools.Engine.Platform;

/// <summary>
/// Linux Landlock (kernel 5.13+): a process confines itself, and every program it then executes, to the folders and
/// files it names, with the rights it names; the kernel refuses everything else, whatever the mode bits and
/// capabilities say. The supervisor uses it to run a dashboard as another user that may read the state directory
/// (<c>CAP_DAC_READ_SEARCH</c>) and nothing else of the machine (docs/SECURITY.md).
/// </summary>
public static partial class Landlock
{
    /// <summary>Execute a file.</summary>
    public const ulong Execute = 1UL << 0;

    /// <summary>Open a file for writing.</summary>
    public const ulong WriteFile = 1UL << 1;

    /// <summary>Open a file for reading.</summary>
    public const ulong ReadFile = 1UL << 2;

    /// <summary>List a folder.</summary>
    public const ulong ReadDirectory = 1UL << 3;

    /// <summary>Read files and list folders.</summary>
    public const ulong Read = ReadFile | ReadDirectory;

    /// <summary>Read and execute (a runtime, libraries).</summary>
    public const ulong ReadExecute = Read | Execute;

    /// <summary>Everything in a folder of one's own: read, write, create, remove and rename regular files and folders.</summary>
    public const ulong Own = Read | WriteFile | RemoveDirectory | RemoveFile | MakeDirectory | MakeRegular | Refer | Truncate;

    private const ulong RemoveDirectory = 1UL << 4, RemoveFile = 1UL << 5, MakeDirectory = 1UL << 7, MakeRegular = 1UL << 8;
    private const ulong Refer = 1UL << 13, Truncate = 1UL << 14;
    private const ulong FileRights = Execute | WriteFile | ReadFile | Truncate | (1UL << 15);
    private const int SysCreateRuleset = 444, SysAddRule = 445, SysRestrictSelf = 446;
    private const uint CreateRulesetVersion = 1;
    private const int RulePathBeneath = 1, PrSetNoNewPrivs = 38, OPath = 0x200000, OCloexec = 0x80000;

    /// <summary>The Landlock ABI version the kernel offers; 0 where there is none (not Linux, too old, or disabled).</summary>
    public static int AbiVersion => OperatingSystem.IsLinux() ? Math.Max(0, (int)syscall(SysCreateRuleset, IntPtr.Zero, 0, CreateRulesetVersion)) : 0;

    /// <summary>
    /// Confines this thread, and what it executes from now on, to <paramref name="rules"/> (path, rights): the rights
    /// hold beneath each folder, or for each file. Paths that do not exist are left out. Irreversible.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The kernel has no Landlock.</exception>
    /// <exception cref="IOException">A step failed; errno in <see cref="Exception.HResult"/>.</exception>
    public static void Restrict(IEnumerable<(string Path, ulong Rights)> rules)
    {
        var abi = AbiVersion;
        if (abi < 1)
        {
            throw new PlatformNotSupportedException("Landlock is not available on this kernel (it needs Linux 5.13 or later with Landlock enabled).");
        }

        // Every right the kernel knows is handled, so whatever no rule allows is refused.
        var handled = (1UL << 13) - 1;
        if (abi >= 2)
        {
            handled |= Refer;
        }

        if (abi >= 3)
        {
            handled |= Truncate;
        }

        if (abi >= 5)
        {
            handled |= 1UL << 15;
        }

        var attribute = BitConverter.GetBytes(handled);
        var ruleset = (int)syscall(SysCreateRuleset, attribute, (nuint)attribute.Length, 0);
        Check(ruleset, "landlock_create_ruleset");
        try
        {
            foreach (var (path, rights) in rules)
            {
                var fd = open(path, OPath | OCloexec);
                if (fd < 0)
                {
                    continue;
                }

                try
                {
                    var isDirectory = FileStatus.TryLstat(Path.Combine(path, "."), out var status) && status.IsDirectory;
                    var allowed = (isDirectory ? rights : rights & FileRights) & handled;
                    // struct landlock_path_beneath_attr { __u64 allowed_access; __s32 parent_fd; } __attribute__((packed))
                    var rule = new byte[12];
                    BitConverter.TryWriteBytes(rule.AsSpan(0, 8), allowed);
                    BitConverter.TryWriteBytes(rule.AsSpan(8, 4), fd);
                    Check((int)syscall(SysAddRule, ruleset, RulePathBeneath, rule, 0), $"landlock_add_rule({path})");
                }
                finally
                {
                    close(fd);
                }
            }

            Check(prctl(PrSetNoNewPrivs, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
            Check((int)syscall(SysRestrictSelf, ruleset, 0), "landlock_restrict_self");
        }
        finally
        {
            close(ruleset);
        }
    }

    /// <summary>Replaces this process with <paramref name="program"/> (execv: same pid, same environment); returns only on failure.</summary>
    /// <returns>errno.</returns>
    public static int Exec(string program, IReadOnlyList<string> arguments)
    {
        var argv = new IntPtr[arguments.Count + 2];
        argv[0] = Marshal.StringToCoTaskMemUTF8(program);
        for (var i = 0; i < arguments.Count; i++)
        {
            argv[i + 1] = Marshal.StringToCoTaskMemUTF8(arguments[i]);
        }

        execv(program, argv);
        var errno = Marshal.GetLastPInvokeError();
        foreach (var pointer in argv)
        {
            Marshal.FreeCoTaskMem(pointer);
        }

        return errno;
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)}.", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, IntPtr attribute, nuint size, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, byte[] attribute, nuint size, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, int ruleset, int ruleType, byte[] rule, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, int ruleset, uint flags);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int execv(string path, IntPtr[] argv);
}
