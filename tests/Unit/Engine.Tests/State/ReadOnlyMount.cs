using System.Diagnostics;

namespace StabilityTools.Engine.Tests.State;

/// <summary>
/// Makes a directory read-only for everyone, root included, by bind-mounting it read-only over itself.
/// Root ignores permission bits, so chmod alone proves nothing when the tests run as root (as CI does).
/// </summary>
internal sealed class ReadOnlyMount : IDisposable
{
    private readonly string _path;

    private ReadOnlyMount(string path) => _path = path;

    public static ReadOnlyMount? TryCreate(string path)
    {
        if (Environment.UserName != "root")
        {
            // As an ordinary user, permissions do the job.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            return new ReadOnlyMount(path);
        }

        if (Run("mount", "--bind", path, path) != 0)
        {
            return null;
        }

        if (Run("mount", "-o", "remount,bind,ro", path) != 0)
        {
            Run("umount", path);
            return null;
        }

        return new ReadOnlyMount(path);
    }

    public void Dispose()
    {
        if (Environment.UserName == "root")
        {
            Run("umount", _path);
        }
        else
        {
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    internal static int Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info)!;
            process.WaitForExit(10_000);
            return process.HasExited ? process.ExitCode : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
