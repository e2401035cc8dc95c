using System.Net;
using System.Text.Json;
using StabilityTools.Dashboard.Tests.Support;

namespace StabilityTools.Dashboard.Tests.Security;

/// <summary>The built-in rate limiter on the real dashboard process.</summary>
public sealed class RateLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task A_burst_beyond_the_limit_gets_429_with_retry_after_while_healthz_stays_open()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--rate-limit", "5"]);

        // Burst 10 (twice the rate): 40 requests at once must run past it.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => server.Client.GetAsync("api/status", Ct)));
        using var health = await server.Client.GetAsync("healthz", Ct);

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));
        Assert.Equal("1", limited[0].Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var problem = JsonDocument.Parse(await limited[0].Content.ReadAsStringAsync(Ct));
        Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
