using System.Net;
using System.Net.Sockets;
using System.Text;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>
/// Random and hostile requests against every endpoint of the real dashboard process (rate limit off, so every request
/// reaches its handler): methods, paths, query strings, headers and bodies. Whatever comes, never a 5xx, and the
/// dashboard still answers afterwards.
/// </summary>
public sealed class FuzzTests : IAsyncLifetime
{
    private static readonly string[] Paths =
    [
        "", "index.html", "app.js", "api/status", "api/processes", "api/metrics", "api/market", "api/events", "api/resources",
        "healthz", "metrics", "api/nope", "api//status", "api/status/../metrics", "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
        "api/%00", "api/status%20", "lib/../../../../etc/shadow", "API/STATUS", "api/metrics/", "favicon.ico",
    ];

    private static readonly string[] Names = ["since", "max_points", "kind", "format", "download", "since_seq", "limit", "severity", "token", "x", "", "max_points[]"];

    private static readonly string[] Hostile =
    [
        "'", "\"", "<script>alert(1)</script>", "%00", "%ff%fe", "${jndi:ldap://127.0.0.1/x}", "../../../../etc/passwd", new string('A', 2000),
        "1e309", "-0", "NaN", "Infinity", "\u202e", "%u0000", "{{7*7}}", "; rm -rf /", "9223372036854775808", "-9223372036854775809",
        "2026-02-30T25:61:61Z", "0x10", " 10", "10 ", "١٠", "true", "[]", "{}", "null",
    ];

    private static readonly string[] Methods = ["GET", "GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"];

    private readonly SampleState _sample = new SampleState().Populate();
    private DashboardServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await DashboardServer.StartProcessAsync(_sample.Root, ["--rate-limit", "0"]);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task Random_and_hostile_requests_to_every_endpoint_never_get_a_5xx()
    {
        var random = new Random(20261129);
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 600; i++)
        {
            var path = Paths[random.Next(Paths.Length)];
            var query = string.Join('&', Enumerable.Range(0, random.Next(4)).Select(_ =>
                $"{Uri.EscapeDataString(Names[random.Next(Names.Length)])}={Uri.EscapeDataString(Value(random))}"));
            using var request = new HttpRequestMessage(new HttpMethod(Methods[random.Next(Methods.Length)]), path + (query.Length > 0 ? "?" + query : ""));
            if (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head && random.Next(2) == 0)
            {
                var body = new byte[random.Next(0, 16 * 1024)];
                random.NextBytes(body);
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(2) == 0 ? "application/json" : new string(Value(random).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray()));
            }

            foreach (var header in new[] { "Accept", "Cookie", "Range", "If-Modified-Since", "X-Forwarded-For", "Authorization", "Last-Event-ID" })
            {
                if (random.Next(3) == 0)
                {
                    // HttpClient only sends printable ASCII header values; raw non-ASCII bytes are sent by the socket test below.
                    request.Headers.TryAddWithoutValidation(header, new string(Value(random).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray()));
                }
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                using var response = await _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var code = (int)response.StatusCode;
                statuses[code] = statuses.GetValueOrDefault(code) + 1;
                if (code >= 500)
                {
                    failures.Add($"{request.Method} {request.RequestUri} -> {code}");
                }
            }
            catch (HttpRequestException ex)
            {
                // A body over the request size limit is refused by closing the connection while the client still sends;
                // that is a refusal, not a failure, as long as the server is there for the next request.
                statuses[0] = statuses.GetValueOrDefault(0) + 1;
                using var alive = await _server.Client.GetAsync("healthz", Ct);
                if (alive.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{request.Method} {request.RequestUri} -> connection failed ({ex.Message}) and the dashboard stopped answering");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(15)));
        Assert.True(statuses.Keys.Any(c => c is >= 200 and < 300) && statuses.Keys.Any(c => c is >= 400 and < 500), string.Join(", ", statuses));
        using var health = await _server.Client.GetAsync("healthz", Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 4")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\n\r\n", "HTTP/1.1 4")]
    [InlineData("BREW /api/status HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 4")]
    [InlineData("GET /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 4")]
    [InlineData("POST /api/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 4")]
    [InlineData("GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: {BIG}\r\n\r\n", "HTTP/1.1 4")]
    [InlineData("GET /api/status HTTP/1.1\r\nHost: x\r\nX-Utf8: \u00e9\u00e8\u00ff\r\n\r\n", "HTTP/1.1 ")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003", "HTTP/1.1 4")]
    // The one 5xx that is right: Kestrel's protocol answer to an HTTP version it does not speak.
    [InlineData("GET / HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 505")]
    public async Task Malformed_http_gets_a_4xx_or_a_closed_connection_never_a_server_error(string raw, string expected)
    {
        var uri = new Uri(_server.Url);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port, Ct);
        var stream = client.GetStream();
        var bytes = Encoding.Latin1.GetBytes(raw.Replace("{BIG}", new string('b', 64 * 1024), StringComparison.Ordinal));
        try
        {
            await stream.WriteAsync(bytes, Ct);
        }
        catch (IOException)
        {
            // The server may close the connection while a huge header is still being sent: that is a refusal too.
        }

        var buffer = new byte[512];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var read = 0;
        try
        {
            read = await stream.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            // Connection reset: refused.
        }

        var answer = Encoding.Latin1.GetString(buffer, 0, read);
        Assert.True(read == 0 || answer.StartsWith(expected, StringComparison.Ordinal), answer);
        Assert.False(answer.StartsWith("HTTP/1.1 500", StringComparison.Ordinal), answer);
        using var health = await _server.Client.GetAsync("healthz", Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static string Value(Random random) => random.Next(4) switch
    {
        0 => Hostile[random.Next(Hostile.Length)],
        1 => random.Next(-1_000_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        2 => new string(Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)random.Next(1, 0x2FFF)).ToArray()),
        _ => DateTimeOffset.UnixEpoch.AddSeconds(random.Next()).ToString(random.Next(2) == 0 ? "o" : "R", System.Globalization.CultureInfo.InvariantCulture),
    };
}
