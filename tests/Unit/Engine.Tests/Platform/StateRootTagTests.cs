using System.Security.Cryptography;
using System.Text;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Tests.Platform;

public sealed class StateRootTagTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(119)]
    [InlineData(120)]
    [InlineData(1000)]
    public void The_managed_SHA256_matches_the_platform_one_at_every_padding_boundary(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);

        Assert.Equal(SHA256.HashData(data), StateRootTag.Sha256(data));
    }

    [Fact(Timeout = 120_000)]
    public void The_tag_is_what_earlier_versions_named_cgroups_with()
    {
        const string root = "/root/.local/state/stability-tools/ünïcode";

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..12], StateRootTag.Of(root));
        Assert.Equal("ba7816bf8f01", StateRootTag.Of("abc"));
    }
}
