using System.Diagnostics;
using System.Globalization;

namespace StabilityTools.Tests.Shared;

/// <summary>File helpers the security tests share.</summary>
public static class TestFiles
{
    /// <summary>Gives <paramref name="path"/> to <paramref name="uid"/> (root only), as another local user's file would be; fails the test when chown fails.</summary>
    public static void Chown(string path, int uid)
    {
        using var chown = Process.Start("chown", [uid.ToString(CultureInfo.InvariantCulture), path]);
        Assert.True(chown.WaitForExit(10_000), "chown did not end within 10 s");
        Assert.Equal(0, chown.ExitCode);
    }
}
