using System.Net;
using System.Text.Json;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>Bad input gets a 4xx problem, never a 500; every response carries the security headers.</summary>
public sealed class RequestHardeningTests(PopulatedDashboard fixture) : IClassFixture<PopulatedDashboard>
{
    private readonly DashboardServer _server = fixture.Server;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory(Timeout = 120_000)]
    [InlineData("api/metrics?max_points=abc", "max_points")]
    [InlineData("api/metrics?max_points=1", "max_points")]
    [InlineData("api/metrics?max_points=10001", "max_points")]
    [InlineData("api/metrics?max_points=-5", "max_points")]
    [InlineData("api/metrics?max_points=99999999999999999999", "max_points")]
    [InlineData("api/metrics?max_points=10&max_points=20", "max_points")]
    [InlineData("api/metrics?max_points=", "max_points")]
    [InlineData("api/metrics?since=yesterday", "since")]
    [InlineData("api/metrics?since=1", "since")]
    [InlineData("api/metrics?since=2026-13-45T99:00:00Z", "since")]
    [InlineData("api/metrics?kind=%00", "kind")]
    [InlineData("api/metrics?format=xml", "format")]
    [InlineData("api/metrics?download=yes", "download")]
    [InlineData("api/events?since_seq=-1", "since_seq")]
    [InlineData("api/events?since_seq=1e3", "since_seq")]
    [InlineData("api/events?limit=0", "limit")]
    [InlineData("api/events?severity=debug", "severity")]
    public async Task Bad_query_values_get_400_problem_details_naming_the_parameter(string path, string parameter)
    {
        using var response = await _server.Client.GetAsync(path, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(parameter, out _), body);
    }

    [Fact(Timeout = 120_000)]
    public async Task Several_bad_values_are_reported_together()
    {
        using var response = await _server.Client.GetAsync("api/metrics?max_points=x&since=y&kind=z", Ct);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["kind", "max_points", "since"], problem.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact(Timeout = 120_000)]
    public async Task Other_methods_than_get_are_refused_with_405()
    {
        using var response = await _server.Client.PostAsync("api/status", new StringContent("{}"), Ct);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_request_body_over_the_limit_is_refused_with_413()
    {
        using var response = await SendOnOwnConnectionAsync(HttpMethod.Post, "api/status", new ByteArrayContent(new byte[64 * 1024]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_oversized_request_line_is_refused_with_414()
    {
        using var response = await SendOnOwnConnectionAsync(HttpMethod.Get, "api/metrics?since=" + new string('9', 8000));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
    }

    /// <summary>
    /// A request Kestrel refuses before reading it whole ends its connection: sent with Connection: close, so the shared
    /// client does not hand that connection to the next test (which then failed with "response ended prematurely").
    /// </summary>
    private Task<HttpResponseMessage> SendOnOwnConnectionAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.ConnectionClose = true;
        return _server.Client.SendAsync(request, Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Unknown_paths_get_404_not_500()
    {
        using var response = await _server.Client.GetAsync("api/nothing-here", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("")]
    [InlineData("app.js")]
    [InlineData("api/status")]
    [InlineData("api/metrics?max_points=zz")]
    public async Task Responses_carry_csp_nosniff_frame_and_referrer_headers(string path)
    {
        using var response = await _server.Client.GetAsync(path, Ct);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));

        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    [Fact(Timeout = 120_000)]
    public async Task The_page_has_no_inline_script_and_loads_uplot_from_the_built_library()
    {
        var html = await _server.Client.GetStringAsync("", Ct);
        using var library = await _server.Client.GetAsync("lib/uPlot.iife.min.js", Ct);

        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);
        Assert.DoesNotContain(" style=\"", html);
        Assert.Equal(HttpStatusCode.OK, library.StatusCode);
        Assert.Contains("uPlot", await library.Content.ReadAsStringAsync(Ct));
    }
}
