using System.Net;
using System.Net.Http.Headers;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Services;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>A token on every bind, by default: the real dashboard process started with no token choice at all.</summary>
public sealed class DefaultTokenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task With_no_token_given_it_makes_its_own_owner_only_token_and_requires_it_everywhere_but_healthz()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root);
        var path = DashboardToken.PathFor(sample.State, "dashboard");
        using var anonymous = server.CreateClient(authenticate: false);

        using var status = await anonymous.GetAsync("api/status", Ct);
        using var events = await anonymous.GetAsync("api/events", Ct);
        using var health = await anonymous.GetAsync("healthz", Ct);
        using var withToken = await server.Client.GetAsync("api/status", Ct);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(server.OwnToken, File.ReadAllText(path).Trim());
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, events.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // /healthz says whether the dashboard keeps up, nothing about what it shows.
        var body = await health.Content.ReadAsStringAsync(Ct);
        Assert.Equal(["last_refresh_age_seconds", "status"], System.Text.Json.JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact(Timeout = 120_000)]
    public async Task The_login_link_made_from_its_token_file_signs_a_client_in_with_a_strict_http_only_cookie()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--name", "ops"]);
        var token = DashboardToken.Read(DashboardToken.PathFor(sample.State, "ops"));
        var login = new Uri(DashboardToken.LoginUrl(server.Url, token));
        var cookies = new CookieContainer();
        using var browser = server.CreateClient(cookies, authenticate: false);

        using var signIn = await browser.GetAsync(login, Ct);
        using var page = await browser.GetAsync("api/status", Ct);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(token, cookie);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task No_auth_on_loopback_serves_without_a_token_and_says_so()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--no-auth"]);

        using var status = await server.Client.GetAsync("api/status", Ct);

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Null(server.OwnToken);
        Assert.False(File.Exists(DashboardToken.PathFor(sample.State, "dashboard")));
        await Eventually.UntilAsync(() => server.StandardError.Contains("WITHOUT a token") || server.StandardOutput.Contains("WITHOUT a token"),
            TimeSpan.FromSeconds(10), "the warning");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_bearer_token_serves_scripts_and_prometheus()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root);
        using var anonymous = server.CreateClient(authenticate: false);
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.OwnToken);

        using var scraped = await anonymous.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("stability_dashboard_up 1", await scraped.Content.ReadAsStringAsync(Ct));
    }
}
