using System.Globalization;

namespace StabilityTools.Engine.Platform;

/// <summary>A local user account (Unix <c>/etc/passwd</c>), for running a service as another user.</summary>
/// <param name="Name">The user name.</param>
/// <param name="Uid">The user id.</param>
/// <param name="Gid">The primary group id.</param>
/// <param name="Home">The home directory.</param>
public sealed record UserAccount(string Name, int Uid, int Gid, string Home)
{
    /// <summary>True when the current process runs as root (effective uid 0).</summary>
    public static bool IsRoot => !OperatingSystem.IsWindows() && Native.GetEffectiveUserId() == 0;

    /// <summary>The account named <paramref name="name"/> (or with that numeric uid), or null when there is none.</summary>
    public static UserAccount? Find(string name, string passwdPath = "/etc/passwd")
    {
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(name) || !File.Exists(passwdPath))
        {
            return null;
        }

        foreach (var line in File.ReadLines(passwdPath))
        {
            var fields = line.Split(':');
            if (fields.Length < 7
                || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                || !int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
            {
                continue;
            }

            if (fields[0] == name || fields[2] == name)
            {
                return new UserAccount(fields[0], uid, gid, fields[5]);
            }
        }

        return null;
    }
}
