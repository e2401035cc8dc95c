namespace StabilityTools.Dashboard.Hosting;

/// <summary>The dashboard's exit codes: a contract with the supervisor and <c>Start-Dashboard</c>.</summary>
public static class DashboardExitCodes
{
    /// <summary>A clean shutdown.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected failure.</summary>
    public const int Failure = 1;

    /// <summary>The command line is malformed (unknown option, missing value): sysexits EX_USAGE.</summary>
    public const int Usage = 64;

    /// <summary>The options are invalid, e.g. a non-loopback bind without a token: sysexits EX_CONFIG.</summary>
    public const int Configuration = 78;

    /// <summary>The port is taken (Linux EADDRINUSE); the lifecycle code turns it into a ResourceConflictException.</summary>
    public const int PortInUse = 98;
}
