using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Tests.Api;

/// <summary>
/// Streams that cannot blow up: hostile clients that open <c>/api/stream</c> and never read, against the real dashboard
/// process with a market document near the 4 MiB cap (rewritten every 10 s, so every stream has a new 3.6 MB view to
/// send), a training write every second. The old dashboard grew from ~96 MB to 1.4 GB RSS in 8 s.
/// </summary>
[Collection(LoadTestCollection.Name)]
public sealed class SlowStreamTests
{
    private const int Hostile = 60;
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 180_000)]
    public async Task Sixty_non_reading_stream_clients_and_a_3_6_MB_market_keep_rss_under_300_MB_while_a_reader_gets_every_training_change()
    {
        using var sample = new SampleState().Populate(metricRecords: 100);
        var market = WriteBigMarket(sample);
        Assert.InRange(new FileInfo(sample.Run.MarketDataPath).Length, 3_400_000, 4 * 1024 * 1024);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--process-stale-after-s", "3600"]);
        var pid = server.Process!.Id;
        var port = new Uri(server.Url).Port;

        await using var reader = await SseClient.ConnectAsync(server.Client);
        (await reader.NextAsync("hello")).Dispose();
        (await reader.NextAsync("market", timeout: TimeSpan.FromSeconds(30))).Dispose();

        var hostile = new List<Socket>();
        var written = new List<long>();
        var rssMax = 0L;
        var clock = Stopwatch.StartNew();
        try
        {
            var wave = 0;
            var marketWrites = 0;
            while (clock.Elapsed < Load)
            {
                // Every 10 s a new wave: the dropped ones come back, as an attacker's would.
                if (clock.Elapsed >= TimeSpan.FromSeconds(10 * wave))
                {
                    wave++;
                    foreach (var socket in hostile)
                    {
                        socket.Dispose();
                    }

                    hostile.Clear();
                    for (var i = 0; i < Hostile; i++)
                    {
                        hostile.Add(await OpenNonReadingStreamAsync(port, server.OwnToken!));
                    }

                    // The wave's sixty opening snapshots (3.6 MB each) are being pushed now. A training write in this
                    // burst can be read by the dashboard only after the next write replaced it, on a loaded machine:
                    // the file system's coalescing, not the stream's. Write when the burst is out; every write after
                    // that must still arrive.
                    await Task.Delay(TimeSpan.FromSeconds(2), Ct);
                }

                // Halfway between waves, so the two big pushes do not land in the same second.
                if (clock.Elapsed >= TimeSpan.FromSeconds(5 + (10 * marketWrites)))
                {
                    marketWrites++;
                    sample.Data.WriteMarketData(market with { Symbol = "SYNTH" + marketWrites });
                }

                written.Add(sample.WriteTraining(epoch: 1 + (written.Count % 20)).Seq);
                rssMax = Math.Max(rssMax, Rss(pid));
                // A trainer's heartbeat pace: each write is a change the reader must see, not one the file system coalesced.
                await Task.Delay(1000, Ct);
                rssMax = Math.Max(rssMax, Rss(pid));
            }

            // Every training write reached the reading client, in order, whatever the others did.
            var last = written[^1];
            var seen = new HashSet<long>();
            while (!seen.Contains(last))
            {
                using var doc = await reader.NextAsync("training", timeout: TimeSpan.FromSeconds(15));
                seen.Add(doc.RootElement.GetProperty("status").GetProperty("document").GetProperty("seq").GetInt64());
            }

            TestContext.Current.TestOutputHelper?.WriteLine($"dashboard RSS max {rssMax / 1048576.0:0.0} MB over {clock.Elapsed.TotalSeconds:0} s; {written.Count} training writes, {seen.Count} seen");
            var missed = written.Where(seq => !seen.Contains(seq)).ToList();
            Assert.True(missed.Count == 0, $"the reader missed training seq {string.Join(", ", missed)} of {written.Count} writes");
            Assert.True(rssMax < 300L * 1024 * 1024, $"dashboard RSS reached {rssMax / 1048576.0:0} MB");
            using var health = await server.Client.GetAsync("healthz", Ct);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            foreach (var socket in hostile)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Opens the stream with a tiny receive buffer and never reads a byte of it.</summary>
    private static async Task<Socket> OpenNonReadingStreamAsync(int port, string token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var connect = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        connect.CancelAfter(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(IPAddress.Loopback, port, connect.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"), connect.Token);
        return socket;
    }

    /// <summary>A market window of ~3.6 MB on disk: 18 000 bars with their predictions.</summary>
    internal static MarketData WriteBigMarket(SampleState sample)
    {
        var market = new MarketData
        {
            Symbol = "SYNTH",
            Source = "synthetic",
            Bars = Enumerable.Range(0, 18_000).Select(i => new MarketBar(SampleState.Start.AddMinutes(i), 100.123456 + i, 101.123456 + i, 99.123456 + i, 100.523456 + i, 1000 + i)).ToList(),
            Predictions = Enumerable.Range(0, 18_000).Select(i => new MarketPrediction(SampleState.Start.AddMinutes(i), 0.5 + (i % 10) / 100.0, i % 3 - 1)).ToList(),
        };
        sample.Data.WriteMarketData(market);
        return market;
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
