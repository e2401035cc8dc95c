using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>The capture and supervisor logs never write through a planted link (issue #13).</summary>
public sealed class RotatingLogTests : IDisposable
{
    private const string VictimText = "root-only secret\n";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 300_000)]
    public void A_link_at_the_log_drops_the_output_and_reports_the_refusal_once()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var victim = _dir.File("victim");
        File.WriteAllText(victim, VictimText);
        var path = _dir.File("stdout.log");
        File.CreateSymbolicLink(path, victim);
        var refusals = new List<UnsafeFileException>();
        using var log = new RotatingLog(path, 1024, 2, onRefused: refusals.Add);

        log.Write("first\n"u8);
        log.Write("second\n"u8);

        Assert.Equal(VictimText, File.ReadAllText(victim));
        var refused = Assert.Single(refusals);
        Assert.Equal(path, refused.Path);
    }

    [Fact(Timeout = 300_000)]
    public void A_link_planted_at_a_rotated_name_is_replaced_by_the_rotation_not_followed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Links and O_NOFOLLOW are Unix.");
        var victim = _dir.File("victim");
        File.WriteAllText(victim, VictimText);
        var path = _dir.File("stdout.log");
        File.CreateSymbolicLink(path + ".1", victim);
        using var log = new RotatingLog(path, 16, 2);

        log.Write("0123456789\n"u8);
        log.Write("abcdefghij\n"u8);

        Assert.Equal(VictimText, File.ReadAllText(victim));
        Assert.Equal("0123456789\n", File.ReadAllText(path + ".1"));
        Assert.Equal(FilePermissions.OwnerOnlyFile, File.GetUnixFileMode(path));
    }
}
