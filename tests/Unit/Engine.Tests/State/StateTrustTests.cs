using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

/// <summary>Who may own and write a state directory (issue #13): OpenSSH's StrictModes for the product's folders.</summary>
public sealed class StateTrustTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void SkipOnWindows() => Assert.SkipWhen(OperatingSystem.IsWindows(), "Owners and modes are Unix.");

    [Fact(Timeout = 120_000)]
    public void A_new_state_directory_is_trusted_and_every_folder_is_created_0700()
    {
        SkipOnWindows();
        var root = _dir.File("state");

        var state = StateDirectory.Open(root);
        state.EnsureServiceDirectory("training");

        Assert.True(state.Trust.IsTrusted, state.Trust.ToString());
        foreach (var folder in new[] { root, state.ServicesDirectory, state.ServiceDirectory("training"), state.ServiceLogDirectory("training"), state.DataDirectory })
        {
            Assert.Equal(FilePermissions.OwnerOnlyDirectory, File.GetUnixFileMode(folder));
        }
    }

    [Fact(Timeout = 120_000)]
    public void A_world_writable_state_directory_is_refused_with_the_path_the_mode_and_the_fix()
    {
        SkipOnWindows();
        var root = _dir.File("state");
        StateDirectory.Open(root);
        File.SetUnixFileMode(root, (UnixFileMode)0x1FF /* 0777 */);

        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(root));

        Assert.Equal(StateDirectoryException.UntrustedErrorId, error.ErrorId);
        Assert.Contains("mode 0777", error.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod go-w '{root}'", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_group_writable_product_folder_is_refused()
    {
        SkipOnWindows();
        var root = _dir.File("state");
        var state = StateDirectory.Open(root);
        state.EnsureServiceDirectory("training");
        File.SetUnixFileMode(state.ServiceLogDirectory("training"), (UnixFileMode)0x1F8 /* 0770 */);

        var verdict = state.Trust;

        Assert.False(verdict.IsTrusted);
        Assert.Equal(state.ServiceLogDirectory("training"), verdict.Path);
        Assert.Contains("writable by group or others", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_link_where_a_product_folder_belongs_is_refused()
    {
        SkipOnWindows();
        var root = _dir.File("state");
        var state = StateDirectory.Open(root);
        Directory.CreateDirectory(_dir.File("elsewhere"));
        File.CreateSymbolicLink(state.ServiceDirectory("evil"), _dir.File("elsewhere"));

        var verdict = state.Trust;

        Assert.False(verdict.IsTrusted);
        Assert.Contains("symbolic link", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_state_directory_below_a_world_writable_folder_without_the_sticky_bit_is_refused()
    {
        SkipOnWindows();
        var open = _dir.File("open");
        Directory.CreateDirectory(open);
        File.SetUnixFileMode(open, (UnixFileMode)0x1FF /* 0777, no sticky bit */);

        var verdict = StateDirectory.Locate(Path.Combine(open, "state")).Trust;

        Assert.False(verdict.IsTrusted);
        Assert.Equal(open, verdict.Path);
        Assert.Contains("sticky", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_state_directory_in_a_sticky_folder_such_as_tmp_is_trusted()
    {
        SkipOnWindows();
        var sticky = _dir.File("sticky");
        Directory.CreateDirectory(sticky);
        File.SetUnixFileMode(sticky, (UnixFileMode)0x3FF /* 01777 */);

        var state = StateDirectory.Open(Path.Combine(sticky, "state"));

        Assert.True(state.Trust.IsTrusted, state.Trust.ToString());
    }

    [Fact(Timeout = 120_000)]
    public void A_state_directory_another_user_prepared_is_refused_before_anything_is_written_into_it()
    {
        SkipOnWindows();
        Assert.SkipUnless(UserAccount.IsRoot, "Giving a folder to another user (chown) takes root.");
        var root = _dir.File("prepared");
        Directory.CreateDirectory(root);
        TestFiles.Chown(root, 65534);

        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(root));

        Assert.Equal(StateDirectoryException.UntrustedErrorId, error.ErrorId);
        Assert.Contains("uid 65534", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
    }

    [Fact(Timeout = 120_000)]
    public void A_link_to_the_state_directory_made_by_its_owner_is_followed_and_judged_where_it_leads()
    {
        SkipOnWindows();
        var real = StateDirectory.Open(_dir.File("real")).Root;
        var link = _dir.File("link");
        File.CreateSymbolicLink(link, real);

        Assert.True(StateDirectory.Locate(link).Trust.IsTrusted);
        File.SetUnixFileMode(real, (UnixFileMode)0x1FF);
        Assert.False(StateDirectory.Locate(link).Trust.IsTrusted);
    }
}
