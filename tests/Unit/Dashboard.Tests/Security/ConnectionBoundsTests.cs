using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>
/// Connection bounds of the real dashboard process against a hostile local client: idle connections cannot take it
/// offline, refused requests keep no connection, idle ones are closed after the keep-alive timeout.
/// </summary>
[Collection(LoadTestCollection.Name)]
public sealed class ConnectionBoundsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Six_hundred_idle_connections_leave_healthz_answering_a_fresh_connection_within_a_second()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root);
        var port = new Uri(server.Url).Port;
        // What the supervisor's probe does: a fresh connection, closed after the answer, a short timeout. Used once
        // before the flood, so the measured call times the dashboard, not this process's first HTTP request.
        using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };
        using (var warm = await probe.GetAsync($"http://127.0.0.1:{port}/healthz", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        var idle = new List<Socket>();
        try
        {
            // Held open by the test, never sending a byte (the old dashboard refused every new client past 511 of these).
            for (var i = 0; i < 600; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                using var connect = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                connect.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(IPAddress.Loopback, port, connect.Token);
            }

            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/healthz") { Headers = { ConnectionClose = true } };
            using var health = await probe.SendAsync(request, Ct);
            clock.Stop();
            using var status = await server.CreateClient().GetAsync("api/status", Ct);

            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"/healthz took {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            // The dashboard closed the oldest idle ones to stay within its per-client bound (64).
            var closed = 0;
            foreach (var socket in idle.Take(100))
            {
                if (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0)
                {
                    closed++;
                }
            }

            Assert.True(closed >= 30, $"only {closed} of the oldest 100 idle connections were closed");
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_request_refused_with_401_closes_its_connection()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, new Uri(server.Url).Port, Ct);

        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), Ct);
        var answer = await HostAllowListTests.ReadToCloseAsync(socket);

        Assert.StartsWith("HTTP/1.1 401", answer);
        Assert.Contains("Connection: close", answer, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_idle_connection_is_closed_after_the_keep_alive_timeout()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--keep-alive-timeout-s", "1"]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, new Uri(server.Url).Port, Ct);
        var clock = Stopwatch.StartNew();

        var answer = await HostAllowListTests.ReadToCloseAsync(socket);

        Assert.Equal("", answer);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"closed after {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
