namespace StabilityTools.Engine.Services;

/// <summary>
/// A started dashboard as <c>Start-Dashboard -PassThru</c> returns it: where it serves, the login link that signs a
/// browser in, and its service status.
/// </summary>
public sealed record DashboardInfo
{
    /// <summary>The service name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The address to open (loopback for a wildcard bind), e.g. <c>http://127.0.0.1:8050/</c>.</summary>
    public string Url { get; init; } = "";

    /// <summary>
    /// <see cref="Url"/> with <c>?token=</c>: opening it once trades the token for a session cookie and drops it from the
    /// address bar. Equal to <see cref="Url"/> for a dashboard without a token.
    /// </summary>
    public string LoginUrl { get; init; } = "";

    /// <summary><c>token</c>, or <c>none</c> for a loopback dashboard started with <c>-NoAuthentication</c>.</summary>
    public string Authentication { get; init; } = "token";

    /// <summary>The file the token is kept in (owner-only), when it has one.</summary>
    public string? TokenPath { get; init; }

    /// <summary>The service's state, judged at read time.</summary>
    public Models.ServiceState State { get; init; }

    /// <summary>The dashboard process's pid.</summary>
    public int Pid { get; init; }

    /// <summary>The state directory it serves (piped cmdlets bind it).</summary>
    public string StateRoot { get; init; } = "";

    /// <summary>The service as <c>Get-ProcessStatus</c> shows it.</summary>
    public ServiceInfo? Service { get; init; }
}
