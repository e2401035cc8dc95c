using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>A quota's action is a type in the code and the same three words in resources/quotas.json; a word from a newer writer costs no quota.</summary>
public sealed class QuotaActionTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(QuotaAction.Warn, "warn")]
    [InlineData(QuotaAction.Restart, "restart")]
    [InlineData(QuotaAction.Stop, "stop")]
    public void An_action_is_written_as_the_word_it_always_was_and_reads_back(QuotaAction action, string word)
    {
        var json = JsonSerializer.Serialize(new GpuQuota("training", 1024, 0, action, false), StatusJson.TypeInfo<GpuQuota>());

        Assert.Contains($"\"action\":\"{word}\"", json, StringComparison.Ordinal);
        Assert.Equal(action, JsonSerializer.Deserialize(json, StatusJson.TypeInfo<GpuQuota>())!.Action);
        Assert.Equal(word, StatusJson.WireName(action));
    }

    [Fact(Timeout = 120_000)]
    public void A_quotas_file_with_an_action_this_version_does_not_know_reads_it_as_warn_and_keeps_the_rest()
    {
        using var dir = new TempDirectory();
        var path = dir.File("quotas.json");
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        store.Write(path, new ResourceQuotas
        {
            GpuQuotas = [new GpuQuota("training", 4096, 1, QuotaAction.Restart, true)],
            Limits = [new ServiceLimits("training", 512, QuotaAction.Stop, null, null)],
        });
        // What a newer writer might record: words this version has no member for.
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"restart\"", "\"throttle\"", StringComparison.Ordinal).Replace("\"stop\"", "\"pause\"", StringComparison.Ordinal));

        var read = store.Read<ResourceQuotas>(path);

        Assert.Equal(ReadState.Ok, read.State);
        Assert.Equal(new GpuQuota("training", 4096, 1, QuotaAction.Warn, true), read.Document!.GpuQuotas.Single());
        Assert.Equal((512.0, QuotaAction.Warn), (read.Document.Limits.Single().MemoryLimitMb!.Value, read.Document.Limits.Single().MemoryAction));
    }
}
