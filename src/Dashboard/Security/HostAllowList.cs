using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace StabilityTools.Dashboard.Security;

/// <summary>
/// Refuses a request whose <c>Host</c> header names anything but a loopback name, the bind address or an allowed host
/// (<see cref="Hosting.DashboardOptions.AllowedHosts"/>): 421 Misdirected Request, 400 when the header is missing or
/// malformed, and the connection is closed. This is what stops DNS rebinding: a web page the owner visits can point its
/// own name at 127.0.0.1, but the browser still sends that name as the host, so the page never reads the API through
/// the owner's browser (Jupyter's <c>allow_remote_access</c> check, Django's <c>ALLOWED_HOSTS</c>). The port is not
/// compared: a tunnel may forward any local port.
/// </summary>
internal sealed class HostAllowList
{
    private readonly RequestDelegate _next;
    private readonly HashSet<string> _allowed = new(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1" };

    public HostAllowList(RequestDelegate next, Hosting.DashboardOptions options)
    {
        _next = next;
        var bind = options.BindAddress;
        if (!bind.Equals(IPAddress.Any) && !bind.Equals(IPAddress.IPv6Any))
        {
            _allowed.Add(bind.ToString());
        }

        foreach (var host in options.AllowedHosts)
        {
            _allowed.Add(host.Trim().Trim('[', ']').TrimEnd('.'));
        }
    }

    /// <summary>True when <paramref name="host"/> (a <c>Host</c> header value, with or without a port) may be served.</summary>
    public bool IsAllowed(string? host, out bool malformed)
    {
        malformed = false;
        if (string.IsNullOrEmpty(host) || !HostString.FromUriComponent(host).HasValue)
        {
            malformed = true;
            return false;
        }

        var name = HostString.FromUriComponent(host).Host.Trim('[', ']').TrimEnd('.');
        if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '\\'))
        {
            malformed = true;
            return false;
        }

        // Every 127.0.0.0/8 address and the *.localhost names (RFC 6761) are this machine.
        return _allowed.Contains(name)
            || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (IsAllowed(context.Request.Headers.Host.ToString(), out var malformed))
        {
            return _next(context);
        }

        context.Response.Headers[HeaderNames.Connection] = "close";
        var status = malformed ? StatusCodes.Status400BadRequest : StatusCodes.Status421MisdirectedRequest;
        return Results.Problem(statusCode: status, title: malformed ? "Bad Host header" : "Unknown host",
            detail: "This dashboard answers only to this machine's loopback names, its bind address and the hosts it was started " +
                    "with (Start-Dashboard -AllowedHost, stability-dashboard --allowed-host).").ExecuteAsync(context);
    }
}
