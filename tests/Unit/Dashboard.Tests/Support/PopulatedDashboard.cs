using System.Text.Json;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>The real dashboard process over a populated state directory, shared by one test class that only reads.</summary>
public sealed class PopulatedDashboard : IAsyncLifetime
{
    internal SampleState Sample { get; } = new SampleState().Populate();

    internal DashboardServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        // Nothing rewrites the sample's status files while the class runs: only a heartbeat hours old counts as stale.
        Server = await DashboardServer.StartProcessAsync(Sample.Root, ["--process-stale-after-s", "3600"]);
        // Ready when the first refresh has read everything the sample wrote.
        await Eventually.UntilAsync(
            async () => await Json.GetAsync(Server.Client, "api/metrics?max_points=2"),
            doc => doc.RootElement.GetProperty("total").GetInt32() == 500,
            TimeSpan.FromSeconds(30),
            "the dashboard to read the sample state");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Sample.Dispose();
    }
}
