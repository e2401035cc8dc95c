using StabilityTools.Engine.Platform;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests.Training;

/// <summary>Links planted where the checkpoint writer works (issue #13): nothing is written or read through them.</summary>
public sealed class CheckpointLinkTests : IDisposable
{
    private const string VictimText = "root-only secret\n";
    private readonly TempDirectory _dir = new();
    private readonly string _victim;

    public CheckpointLinkTests()
    {
        _victim = _dir.File("victim.txt");
        File.WriteAllText(_victim, VictimText);
    }

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 300_000)]
    public void A_link_at_the_temporary_name_a_pid_would_use_is_never_written_through()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var path = _dir.File("ckpt-e1-b0.ckpt");
        File.CreateSymbolicLink($"{path}.tmp-{Environment.ProcessId}", _victim);

        CheckpointFile.Write(path, "{}", [[1, 2, 3]]);

        Assert.Equal(VictimText, File.ReadAllText(_victim));
        Assert.Equal([1, 2, 3], CheckpointFile.Read(path).Blobs[0]);
        Assert.Equal(FilePermissions.OwnerOnlyFile, File.GetUnixFileMode(path));
    }

    [Fact(Timeout = 300_000)]
    public void A_link_at_the_checkpoint_name_is_replaced_not_followed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var path = _dir.File("ckpt-e2-b0.ckpt");
        File.CreateSymbolicLink(path, _victim);

        CheckpointFile.Write(path, "{}", [[4]]);

        Assert.Equal(VictimText, File.ReadAllText(_victim));
        Assert.False(FileStatus.TryLstat(path, out var status) && status.IsSymbolicLink);
    }

    [Fact(Timeout = 300_000)]
    public void A_checkpoint_that_is_a_link_is_not_read_through()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var real = _dir.File("real.ckpt");
        CheckpointFile.Write(real, "{}", [[5]]);
        var path = _dir.File("ckpt-e3-b0.ckpt");
        File.CreateSymbolicLink(path, real);

        Assert.ThrowsAny<IOException>(() => CheckpointFile.Read(path));
    }
}
