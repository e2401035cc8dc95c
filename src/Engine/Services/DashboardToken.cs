using System.Runtime.InteropServices;
using System.Security.Cryptography;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>
/// A dashboard's access token: 32 random bytes as 64 hex digits, kept owner-only (0600) in
/// <c>services/&lt;name&gt;/dashboard.token</c>, so each dashboard of a state directory has its own. The token never
/// travels on a command line (other local users can read those): the dashboard reads it from the file.
/// <c>Start-Dashboard</c> and <c>stability-dashboard</c> both call <see cref="ReadOrCreate"/>, so whichever runs
/// first makes it and the other reads the same one.
/// </summary>
public static class DashboardToken
{
    /// <summary>The token file's name inside the service directory.</summary>
    public const string FileName = "dashboard.token";

    /// <summary>The shortest token accepted.</summary>
    public const int MinimumLength = 16;

    /// <summary><c>services/&lt;name&gt;/dashboard.token</c>.</summary>
    /// <exception cref="ArgumentException">The name is not a valid service name.</exception>
    public static string PathFor(StateDirectory state, string name)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Path.Combine(state.ServiceDirectory(name), FileName);
    }

    /// <summary>A new random token (256 bits, hex).</summary>
    public static string Generate() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>True when <paramref name="token"/> is long enough and holds no white space.</summary>
    public static bool IsValid(string? token) => token is { Length: >= MinimumLength } && !token.Any(char.IsWhiteSpace);

    /// <summary>
    /// The token of dashboard <paramref name="name"/>: read from its token file, or made and written there (owner-only,
    /// created exclusively, so two starters racing end up with the same token).
    /// </summary>
    /// <exception cref="StateDirectoryException">The file cannot be read or written, or holds no valid token.</exception>
    public static string ReadOrCreate(StateDirectory state, string name)
    {
        var path = PathFor(state, name);
        if (File.Exists(path))
        {
            // Made 0600; a token others can read or replace guards nothing.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~FilePermissions.OwnerOnlyFile) != 0)
            {
                throw new StateDirectoryException(path, $"The dashboard token file '{path}' can be read or written by other users " +
                    $"(mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}). Delete it to have a new one made, or 'chmod 600' it.") { Service = name };
            }

            return Read(path);
        }

        FilePermissions.CreateOwnerOnlyDirectory(Path.GetDirectoryName(path)!);
        var token = Generate();
        // Written whole to a file of our own, then hard-linked into place, which fails if the name exists (.NET's
        // File.Move without overwrite checks, then renames: two racers could both "win"): a reader never sees a
        // half-written token, and of two racing starters one wins and the other reads the winner's.
        var temporary = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            WriteNew(temporary, token);
            LinkNew(temporary, path);
            TryDelete(temporary);
            return token;
        }
        catch (IOException) when (File.Exists(path))
        {
            TryDelete(temporary);
            return Read(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new StateDirectoryException(path, $"Cannot write the dashboard token file '{path}': {ex.Message} Check the state directory's owner and permissions.", ex) { Service = name };
        }
    }

    /// <summary>Replaces the token of dashboard <paramref name="name"/> with <paramref name="token"/> (written atomically, owner-only).</summary>
    /// <exception cref="ArgumentException">The token is too short or holds white space.</exception>
    /// <exception cref="StateDirectoryException">The file cannot be written.</exception>
    public static string Write(StateDirectory state, string name, string token)
    {
        if (!IsValid(token))
        {
            throw new ArgumentException($"A dashboard token must be at least {MinimumLength} characters without white space (e.g. 32 random hex digits).", nameof(token));
        }

        var path = PathFor(state, name);
        var temporary = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            FilePermissions.CreateOwnerOnlyDirectory(Path.GetDirectoryName(path)!);
            WriteNew(temporary, token);
            File.Move(temporary, path, overwrite: true);
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new StateDirectoryException(path, $"Cannot write the dashboard token file '{path}': {ex.Message} Check the state directory's owner and permissions.", ex) { Service = name };
        }
    }

    /// <summary>Reads a token file (white space around the token is ignored).</summary>
    /// <exception cref="StateDirectoryException">The file cannot be read or holds no valid token.</exception>
    public static string Read(string path)
    {
        string text;
        try
        {
            // Never through a link, and only a file of ours: whoever could plant a token could sign in with it.
            using var stream = SafeFile.OpenRead(path);
            if (SafeFile.OwnerOf(stream) is var owner and >= 0 && !SafeFile.IsTrustedOwner(owner))
            {
                throw new UnsafeFileException(path, $"it is owned by {SafeFile.UserName(owner)} (uid {owner}), not by you or root") { OwnerUid = owner };
            }

            using var reader = new StreamReader(stream);
            // A token file is one short line; anything big is not one.
            var buffer = new char[4096];
            var count = reader.ReadBlock(buffer, 0, buffer.Length);
            text = new string(buffer, 0, count).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateDirectoryException(path, $"Cannot read the dashboard token file '{path}': {ex.Message}", ex);
        }

        return IsValid(text)
            ? text
            : throw new StateDirectoryException(path, $"The dashboard token file '{path}' does not hold a token of at least {MinimumLength} characters without white space. Delete it to have a new one made.");
    }

    /// <summary>The login link: <paramref name="baseUrl"/> with <c>/?token=</c>; opening it once signs a browser in.</summary>
    public static string LoginUrl(string baseUrl, string token)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return $"{baseUrl.TrimEnd('/')}/?token={Uri.EscapeDataString(token)}";
    }

    private static void LinkNew(string source, string destination)
    {
        if (OperatingSystem.IsWindows())
        {
            // MoveFileEx without REPLACE_EXISTING fails atomically when the destination exists.
            File.Move(source, destination, overwrite: false);
            return;
        }

        if (link(source, destination) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno == 17 /* EEXIST */ ? $"'{destination}' exists." : $"link failed with errno {errno}.");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link([MarshalAs(UnmanagedType.LPStr)] string oldpath, [MarshalAs(UnmanagedType.LPStr)] string newpath);

    private static void WriteNew(string path, string token)
    {
        using var stream = SafeFile.Open(path, SafeFileMode.CreateNew, FileAccess.Write);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(token + "\n"));
        stream.Flush(flushToDisk: true);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is harmless and named after our pid.
        }
    }
}
