using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Starts the web dashboard under its own supervisor, signed-in by default.</para>
/// <para type="description">Launches a detached supervisor that runs the dashboard at low priority with every GPU
/// hidden, probes its /healthz on a fresh connection, restarts it whenever it fails (policy always) and waits until it
/// answers. Every bind needs a token: by default the dashboard's own random token, kept owner-only in
/// services/NAME/dashboard.token; -Token or -TokenFile choose one; -NoAuthentication (loopback only) serves without.
/// The login link is printed, and returned in LoginUrl with -PassThru: opening it once signs a browser in. The
/// dashboard answers only to loopback names, its bind address and -AllowedHost. It gets a 512 MiB memory limit
/// (restart) unless one is set already (Set-ResourceLimit). When the port is taken the start fails with a
/// ResourceConflict error and nothing is left running.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Dashboard", SupportsShouldProcess = true, DefaultParameterSetName = OwnTokenSet)]
[OutputType(typeof(DashboardInfo))]
public sealed class StartDashboardCommand : StartServiceCommandBase
{
    private const string OwnTokenSet = "OwnToken";
    private const string TokenSet = "Token";
    private const string TokenFileSet = "TokenFile";
    private const string NoAuthenticationSet = "NoAuthentication";

    /// <summary>The service name. Default <c>dashboard</c>.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = BuiltInServices.DashboardName;

    /// <summary>The TCP port. Default 8050.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = BuiltInServices.DefaultPort;

    /// <summary>The address to listen on. Default 127.0.0.1 (this machine only).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>The token to require (at least 16 characters); kept in the dashboard's token file, never on a command line.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TokenSet)]
    [ValidateNotNullOrEmpty]
    public string? Token { get; set; }

    /// <summary>A file holding the token to require (read by the dashboard at each start).</summary>
    [Parameter(Mandatory = true, ParameterSetName = TokenFileSet)]
    [ValidateNotNullOrEmpty]
    public string? TokenFile { get; set; }

    /// <summary>Serve without a token: loopback addresses only, with a warning.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NoAuthenticationSet)]
    public SwitchParameter NoAuthentication { get; set; }

    /// <summary>Host names the dashboard answers to besides loopback names and the bind address (a reverse proxy's or tunnel's name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? AllowedHost { get; set; }

    /// <summary>A certificate for HTTPS: PKCS#12 (.pfx, without a password), or PEM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM -CertificatePath, when the key is in a file of its own.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificateKeyPath { get; set; }

    /// <summary>
    /// Run the dashboard as this user (the session must run as root): it may read the state directory and nothing else
    /// of the machine (one capability, CAP_DAC_READ_SEARCH, confined by Landlock), and write only a folder of its own.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunAsUser { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            if (Token is not null && !DashboardToken.IsValid(Token))
            {
                throw new ArgumentException($"-Token must be at least {DashboardToken.MinimumLength} characters without white space (e.g. 32 random hex digits).", nameof(Token));
            }

            // Only located here: -WhatIf must not even create the state directory.
            var state = LocateStateDirectory();
            var access = new DashboardAccess
            {
                TokenFile = TokenFile is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(TokenFile),
                NoAuthentication = NoAuthentication,
                AllowedHosts = AllowedHost ?? [],
                CertificatePath = CertificatePath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(CertificatePath),
                CertificateKeyPath = CertificateKeyPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(CertificateKeyPath),
            };
            var spec = WithRestartOptions(BuiltInServices.Dashboard(state, Name, BindAddress, Port, access) with { RunAsUser = RunAsUser }).Validate();
            var url = BuiltInServices.DashboardUrl(BindAddress, Port, https: CertificatePath is not null);
            if (!ShouldProcess($"service '{Name}' (dashboard on {url}, {(NoAuthentication ? "no token" : "token required")}) in '{state.Root}'", "Start"))
            {
                return;
            }

            if (NoAuthentication)
            {
                WriteWarning($"Dashboard '{Name}' serves {url} without a token: every user of this machine can read it.");
            }

            state = OpenStateDirectory();
            string? token = null;
            string? tokenPath = null;
            // A token this call makes goes again when the start fails: a refused start leaves nothing behind.
            var madeToken = !NoAuthentication && Token is null && access.TokenFile is null && !File.Exists(DashboardToken.PathFor(state, Name));
            if (!NoAuthentication)
            {
                tokenPath = access.TokenFile ?? DashboardToken.PathFor(state, Name);
                token = Token is not null ? ReadBack(DashboardToken.Write(state, Name, Token))
                    : access.TokenFile is not null ? DashboardToken.Read(access.TokenFile)
                    : DashboardToken.ReadOrCreate(state, Name);
            }

            ServiceInfo service;
            try
            {
                service = Start(state, spec, passThru: false);
            }
            catch when (madeToken)
            {
                File.Delete(DashboardToken.PathFor(state, Name));
                throw;
            }

            // Only once it runs (a failed start leaves no limit behind); the supervisor applies it on its next sample.
            var resources = new ResourceManager(state, NoGpuProbe.Instance);
            if (resources.GetLimits(Name)?.MemoryLimitMb is null)
            {
                resources.SetResourceLimit(Name, BuiltInServices.DefaultDashboardMemoryLimitMb, QuotaAction.Restart, null, null);
                WriteVerbose($"Memory limit of '{Name}': {BuiltInServices.DefaultDashboardMemoryLimitMb} MiB, restart over it (change it with Set-ResourceLimit).");
            }

            var login = token is null ? url : DashboardToken.LoginUrl(url, token);
            // Printed like Jupyter prints its link: the one way into a dashboard that needs a token.
            WriteInformation(new InformationRecord(new HostInformationMessage { Message = $"Dashboard '{Name}': {login}" }, "Start-Dashboard") { Tags = { "PSHOST" } });
            if (PassThru)
            {
                WriteObject(new DashboardInfo
                {
                    Name = service.Name,
                    Url = url,
                    LoginUrl = login,
                    Authentication = token is null ? "none" : "token",
                    TokenPath = tokenPath,
                    State = service.State,
                    Pid = service.Pid,
                    StateRoot = service.StateRoot,
                    Service = service,
                });
            }
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, Name);
        }
    }

    private static string ReadBack(string path) => DashboardToken.Read(path);
}
