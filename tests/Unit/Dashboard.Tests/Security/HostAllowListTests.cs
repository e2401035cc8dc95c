using System.Net;
using System.Net.Sockets;
using System.Text;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>The <c>Host</c> allow-list of the real dashboard process: the defence against DNS rebinding.</summary>
public sealed class HostAllowListTests : IAsyncLifetime
{
    private readonly SampleState _sample = new SampleState().Populate(metricRecords: 10);
    private DashboardServer _server = null!;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _server = await DashboardServer.StartProcessAsync(_sample.Root, ["--allowed-host", "dash.example", "--rate-limit", "0"]);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Theory(Timeout = 120_000)]
    [InlineData("evil.example")]
    [InlineData("evil.example:8050")]
    [InlineData("127.0.0.1.evil.example")]
    [InlineData("localhost.evil.example")]
    [InlineData("dash.example.evil.example")]
    public async Task A_request_naming_another_host_is_refused_with_421_and_its_connection_closed(string host)
    {
        foreach (var path in new[] { "api/status", "healthz", "" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            using var response = await _server.Client.SendAsync(request, Ct);

            Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
            Assert.True(response.Headers.ConnectionClose, $"{path}: the connection stays open");
            Assert.DoesNotContain("\"training\"", await response.Content.ReadAsStringAsync(Ct));
        }
    }

    [Theory(Timeout = 120_000)]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("app.localhost")]
    [InlineData("dash.example")]
    [InlineData("DASH.EXAMPLE.")]
    public async Task Loopback_names_and_allowed_hosts_are_served_on_any_port(string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/status");
        request.Headers.Host = name + ":" + new Uri(_server.Url).Port;
        using var response = await _server.Client.SendAsync(request, Ct);
        using var tunnelled = new HttpRequestMessage(HttpMethod.Get, "api/status") { Headers = { Host = name + ":18050" } };
        using var viaTunnel = await _server.Client.SendAsync(tunnelled, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaTunnel.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_request_without_a_host_is_refused_with_400()
    {
        var port = new Uri(_server.Url).Port;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, Ct);
        // HTTP/1.0 may leave Host out; Kestrel lets it through, the allow-list must not.
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /api/status HTTP/1.0\r\nAuthorization: Bearer {_server.OwnToken}\r\n\r\n"), Ct);

        var answer = await ReadToCloseAsync(socket);

        Assert.StartsWith("HTTP/1.1 400", answer);
        Assert.DoesNotContain("\"training\"", answer);
    }

    internal static async Task<string> ReadToCloseAsync(Socket socket)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, deadline.Token)) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }
}
