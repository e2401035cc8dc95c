using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace StabilityTools.Dashboard.Security;

/// <summary>
/// Token authentication for the page and the API (every bind has a token unless <c>--no-auth</c> was given on loopback). A request is let through
/// with <c>Authorization: Bearer &lt;token&gt;</c> or the session cookie; the cookie is set by opening the
/// login link <c>/?token=&lt;token&gt;</c>, which then redirects to <c>/</c> so the token leaves the address
/// bar and history. <c>/healthz</c> stays open for the supervisor's probe and says nothing private. A refused request
/// also closes its connection. Every comparison is constant-time
/// over SHA-256 digests, so neither content nor length leaks through timing.
/// </summary>
internal sealed class TokenAuthentication
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "stability_session";

    private readonly RequestDelegate _next;
    private readonly byte[]? _tokenDigest;
    private readonly byte[]? _sessionDigest;
    private readonly string? _sessionValue;

    public TokenAuthentication(RequestDelegate next, Hosting.DashboardOptions options)
    {
        _next = next;
        var token = options.Token;
        if (token is not null)
        {
            _tokenDigest = SHA256.HashData(Encoding.UTF8.GetBytes(token));
            // The cookie carries a value derived from the token, not the token itself.
            _sessionValue = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), "stability-dashboard-session/1"u8));
            _sessionDigest = SHA256.HashData(Encoding.UTF8.GetBytes(_sessionValue));
        }
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (_tokenDigest is null || context.Request.Path.Equals("/healthz", StringComparison.Ordinal))
        {
            return _next(context);
        }

        var request = context.Request;
        if (request.Query.TryGetValue("token", out var login) && IsPage(request.Path))
        {
            if (login.Count == 1 && Matches(login[0], _tokenDigest))
            {
                context.Response.Cookies.Append(CookieName, _sessionValue!, new CookieOptions
                {
                    HttpOnly = true,
                    Secure = request.IsHttps,
                    SameSite = SameSiteMode.Strict,
                    Path = "/",
                    IsEssential = true,
                });
                context.Response.Redirect("/", permanent: false);
                return Task.CompletedTask;
            }

            return Reject(context, "The token in the login link is wrong.");
        }

        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Matches(header["Bearer ".Length..].Trim(), _tokenDigest)
                ? _next(context)
                : Reject(context, "The bearer token is wrong.");
        }

        if (request.Cookies.TryGetValue(CookieName, out var session) && Matches(session, _sessionDigest!))
        {
            return _next(context);
        }

        return Reject(context, "This dashboard needs a token: send 'Authorization: Bearer <token>', or open the login link '/?token=<token>' once.");
    }

    private static bool IsPage(PathString path) => path == "/" || path.Equals("/index.html", StringComparison.Ordinal);

    private static bool Matches(string? candidate, byte[] expectedDigest) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(candidate)), expectedDigest);

    private static async Task Reject(HttpContext context, string detail)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status401Unauthorized;
        // A client that is refused keeps no connection: held-open 401 connections were a way to exhaust the server.
        response.Headers.Connection = "close";
        response.Headers.WWWAuthenticate = "Bearer realm=\"stability-dashboard\"";
        if (IsPage(context.Request.Path))
        {
            // A person at the browser: say what to do, without script.
            response.ContentType = "text/html; charset=utf-8";
            await response.WriteAsync(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>StabilityTools dashboard: sign in</title></head>" +
                "<body><h1>Sign in</h1><p>This dashboard needs its token. Open the login link that <code>Start-Dashboard</code> printed " +
                "(<code>/?token=&lt;token&gt;</code>); it sets a session cookie.</p></body></html>").ConfigureAwait(false);
            return;
        }

        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail).ExecuteAsync(context).ConfigureAwait(false);
    }
}
