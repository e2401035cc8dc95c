using System.Net;
using System.Net.Http.Headers;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>Token authentication of the real dashboard process: header, login link and cookie.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private const string Token = "0123456789abcdef0123456789abcdef";
    private readonly SampleState _sample = new SampleState().Populate(metricRecords: 10);
    private readonly TempDirectory _secrets = new("st-secret");
    private DashboardServer _server = null!;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(_secrets.File("token"), Token + "\n");
        _server = await DashboardServer.StartProcessAsync(_sample.Root, ["--token-file", _secrets.File("token")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
        _secrets.Dispose();
    }

    [Theory(Timeout = 120_000)]
    [InlineData("api/status")]
    [InlineData("api/metrics")]
    [InlineData("api/stream")]
    [InlineData("metrics")]
    [InlineData("app.js")]
    [InlineData("api/runs")]
    [InlineData("api/runs/some-run")]
    [InlineData("api/runs/some-run/history")]
    [InlineData("api/compare?runs=a,b")]
    [InlineData("api/compare?runs=a,b&format=csv")]
    [InlineData("api/sweeps")]
    [InlineData("api/errors")]
    [InlineData("api/system-metrics?service=training")]
    [InlineData("api/logs?service=training")]
    [InlineData("api/logs?service=training&after=0")]
    [InlineData("runs.html")]
    [InlineData("runs.js")]
    public async Task Without_a_token_the_api_and_files_answer_401(string path)
    {
        using var response = await _server.Client.GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_a_token_the_page_answers_401_with_sign_in_instructions()
    {
        using var response = await _server.Client.GetAsync("", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("/?token=", await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory(Timeout = 120_000)]
    [InlineData("wrong")]
    [InlineData("0123456789abcdef0123456789abcdeF")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    public async Task A_wrong_bearer_token_answers_401(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _server.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_right_bearer_token_is_let_through()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await _server.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_login_link_sets_an_http_only_cookie_that_does_not_carry_the_token_and_redirects_home()
    {
        var cookies = new CookieContainer();
        using var client = _server.CreateClient(cookies);

        using var login = await client.GetAsync($"?token={Token}", Ct);
        using var api = await client.GetAsync("api/status", Ct);
        using var page = await client.GetAsync("", Ct);

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
        var cookie = Assert.Single(cookies.GetAllCookies());
        Assert.True(cookie.HttpOnly);
        Assert.DoesNotContain(Token, cookie.Value);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wrong_login_link_sets_no_cookie()
    {
        var cookies = new CookieContainer();
        using var client = _server.CreateClient(cookies);

        using var login = await client.GetAsync("?token=not-the-token", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Empty(cookies.GetAllCookies());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_forged_cookie_answers_401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/status");
        request.Headers.Add("Cookie", $"stability_session={Token}");
        using var response = await _server.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Healthz_stays_open_for_the_supervisors_probe()
    {
        using var response = await _server.Client.GetAsync("healthz", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_token_may_come_from_the_environment()
    {
        await using var server = await DashboardServer.StartProcessAsync(_sample.Root, ["--name", "env-token"],
            new Dictionary<string, string> { ["STABILITY_DASHBOARD_TOKEN"] = Token });
        using var anonymous = await server.Client.GetAsync("api/status", Ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var authorized = await server.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
    }
}
