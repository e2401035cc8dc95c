using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Reporting.Tests;

/// <summary>The checkpoint helper of <see cref="StabilityRun"/> on a real state directory: save, retention, resume.</summary>
public sealed class StabilityRunCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-report");

    public void Dispose() => _dir.Dispose();

    private StabilityRunOptions Options(string runId = "r1", int keep = 3) => new()
    {
        StateDirectory = _dir.Path, RunId = runId, TotalEpochs = 10, KeepCheckpoints = keep, HandleSignals = false,
        HeartbeatInterval = TimeSpan.FromMilliseconds(50),
        // The test process may itself run under a supervisor: only what the options say counts here.
        Environment = _ => null,
    };

    private static void Save(Stream stream, int value) => stream.Write(BitConverter.GetBytes(value));

    private static int Load(Stream stream)
    {
        var bytes = new byte[4];
        stream.ReadExactly(bytes);
        return BitConverter.ToInt32(bytes);
    }

    private string[] Checkpoints(string runId = "r1") =>
        Directory.GetFiles(StateDirectory.Open(_dir.Path).Run(runId).Directory, "ckpt-*.ckpt").Select(Path.GetFileName).Order().ToArray()!;

    [Fact(Timeout = 300_000)]
    public void A_resume_loads_the_newest_checkpoint_and_starts_after_its_epoch()
    {
        using (var run = StabilityRun.Open(Options()))
        {
            Assert.Null(run.Resume(Load));
            foreach (var epoch in run.Epochs().Take(3))
            {
                run.Step(loss: 1.0 / epoch);
                run.Checkpoint(epoch, s => Save(s, epoch * 100));
            }
        }

        using var again = StabilityRun.Open(Options());
        var found = again.Resume(Load);
        Assert.NotNull(found);
        Assert.Equal(300, found.State);
        Assert.Equal(3, found.Epoch);
        Assert.Equal(3, again.StartEpoch);
        Assert.Equal(4, again.Epochs().First());
        Assert.Equal(2, again.Attempt);
    }

    [Fact(Timeout = 300_000)]
    public void Only_the_newest_K_checkpoints_are_kept()
    {
        using var run = StabilityRun.Open(Options(keep: 2));
        for (var epoch = 1; epoch <= 5; epoch++)
        {
            run.Checkpoint(epoch, s => Save(s, epoch));
        }

        Assert.Equal(["ckpt-e00004-b000000.ckpt", "ckpt-e00005-b000000.ckpt"], Checkpoints());
    }

    [Fact(Timeout = 300_000)]
    public void A_resume_falls_back_past_a_corrupt_newest_checkpoint_sets_it_aside_and_says_so()
    {
        string newest;
        using (var run = StabilityRun.Open(Options()))
        {
            run.Checkpoint(1, s => Save(s, 1));
            run.Checkpoint(2, s => Save(s, 2));
            newest = run.Checkpoint(3, s => Save(s, 3));
        }

        // Damage the newest in the middle, as a failing disk would.
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);

        using (var again = StabilityRun.Open(Options()))
        {
            var found = again.Resume(Load);
            Assert.NotNull(found);
            Assert.Equal(2, found.State);
            Assert.Equal(2, again.StartEpoch);
        }

        Assert.True(File.Exists(newest + ".corrupt"));
        Assert.False(File.Exists(newest));
        var fallback = Assert.Single(new SharedDataManager(StateDirectory.Open(_dir.Path)).Events.ReadAll().Records, e => e.Type == "checkpoint_fallback");
        Assert.Equal(EventSeverity.Warning, fallback.Severity);
        Assert.Equal(newest, fallback.Data!["path"]);
        Assert.Contains("checksum", fallback.Data["reason"], StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public void A_checkpoint_planted_as_a_link_is_not_read_through_and_the_resume_falls_back()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        using (var run = StabilityRun.Open(Options()))
        {
            run.Checkpoint(1, s => Save(s, 1));
        }

        // A valid checkpoint of someone else's, linked in as the newest of this run.
        using (var other = StabilityRun.Open(Options("other")))
        {
            other.Checkpoint(9, s => Save(s, 999));
        }

        var planted = Path.Combine(StateDirectory.Open(_dir.Path).Run("r1").Directory, "ckpt-e00009-b000000.ckpt");
        File.CreateSymbolicLink(planted, Path.Combine(StateDirectory.Open(_dir.Path).Run("other").Directory, "ckpt-e00009-b000000.ckpt"));

        using var again = StabilityRun.Open(Options());
        var found = again.Resume(Load);
        Assert.NotNull(found);
        Assert.Equal(1, found.State);
    }

    [Fact(Timeout = 300_000)]
    public void A_link_planted_at_a_checkpoint_name_is_replaced_never_written_through()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var victim = _dir.File("victim.txt");
        File.WriteAllText(victim, "secret\n");
        using var run = StabilityRun.Open(Options());
        var path = Path.Combine(run.RunDirectory, "ckpt-e00001-b000000.ckpt");
        File.CreateSymbolicLink(path, victim);

        run.Checkpoint(1, s => Save(s, 1));

        Assert.Equal("secret\n", File.ReadAllText(victim));
        Assert.False(FileStatus.TryLstat(path, out var status) && status.IsSymbolicLink);
        Assert.Equal(FilePermissions.OwnerOnlyFile, File.GetUnixFileMode(path));
    }
}
