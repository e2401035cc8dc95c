using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Data;

/// <summary>A document from a newer writer, with a word this version does not know, is still shown (in-process Kestrel).</summary>
public sealed class UnknownWordsTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly SampleState _sample = new();
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = _sample.Root, PollInterval = TimeSpan.FromMilliseconds(250) });

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_trainer_state_this_version_does_not_know_is_shown_as_unknown_with_the_rest_of_the_status()
    {
        _sample.WriteTraining(epoch: 6);
        var path = _sample.Run.TrainingStatusPath;
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"state\":\"running\"", "\"state\":\"evaluating\"", StringComparison.Ordinal));

        using var doc = await Eventually.UntilAsync(
            () => Json.GetAsync(_server.Client, "api/status"), d => d.At("training", "state").GetString() == "unknown", Wait, "training state 'unknown'");

        Assert.Equal("ok", doc.At("training", "status", "state").GetString());
        Assert.Equal(6, doc.At("training", "status", "document", "current_epoch").GetInt32());
        Assert.Equal("unknown", doc.At("training", "status", "document", "state").GetString());
    }
}
