namespace StabilityTools.Engine.Services;

/// <summary>
/// Who may reach a dashboard and how: its token (by default its own, in <see cref="DashboardToken.PathFor"/>), the extra
/// host names it answers to, and its HTTPS certificate. Immutable; <see cref="BuiltInServices.Dashboard"/> checks it.
/// </summary>
public sealed record DashboardAccess
{
    /// <summary>A file holding the token to use instead of the dashboard's own token file. Default none.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Serve without a token; allowed on a loopback address only. Default false.</summary>
    public bool NoAuthentication { get; init; }

    /// <summary>Host names the <c>Host</c> header may carry besides loopback names and the bind address. Default none.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>The HTTPS certificate (PKCS#12, or PEM). Default none: plain HTTP.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The PEM key of a PEM certificate kept apart from it. Default none.</summary>
    public string? CertificateKeyPath { get; init; }
}
