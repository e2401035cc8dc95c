using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Hosting;

/// <summary>The executable's contract with the supervisor: exit codes, messages, bindings, HTTPS, several instances.</summary>
public sealed class HostContractTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task A_taken_port_exits_98_with_a_message_that_names_the_port()
    {
        using var sample = new SampleState();
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (code, _, stderr) = await RunToExitAsync(["--state-dir", sample.Root, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.Equal(DashboardExitCodes.PortInUse, code);
        Assert.Contains($"port {port} on 127.0.0.1 is already in use", stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_non_loopback_bind_without_a_token_is_refused_with_exit_78()
    {
        using var sample = new SampleState();

        var (code, stdout, stderr) = await RunToExitAsync(["--state-dir", sample.Root, "--bind", "0.0.0.0", "--port", "0", "--no-auth"], new Dictionary<string, string> { ["STABILITY_DASHBOARD_TOKEN"] = "" });

        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("loopback only", stderr);
        Assert.DoesNotContain("serving", stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_configuration_problem_is_reported_in_one_run()
    {
        var (code, _, stderr) = await RunToExitAsync(["--bind", "not-an-address", "--port", "70000", "--rate-limit", "-1"]);

        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("--bind", stderr);
        Assert.Contains("--port", stderr);
        Assert.Contains("--rate-limit", stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_unknown_option_exits_64_with_the_usage()
    {
        var (code, _, stderr) = await RunToExitAsync(["--frobnicate", "1"]);

        Assert.Equal(DashboardExitCodes.Usage, code);
        Assert.Contains("unknown option '--frobnicate'", stderr);
        Assert.Contains("usage: stability-dashboard", stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_non_loopback_bind_with_a_token_serves()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--bind", "0.0.0.0"],
            new Dictionary<string, string> { ["STABILITY_DASHBOARD_TOKEN"] = "fedcba9876543210fedcba9876543210" });
        var port = new Uri(server.Url).Port;
        using var client = new HttpClient();

        using var health = await client.GetAsync($"http://127.0.0.1:{port}/healthz", Ct);
        using var api = await client.GetAsync($"http://127.0.0.1:{port}/api/status", Ct);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Two_dashboards_with_different_names_serve_one_state_directory_and_keep_their_own_state_files()
    {
        using var sample = new SampleState().Populate(metricRecords: 10);
        await using var first = await DashboardServer.StartProcessAsync(sample.Root, ["--state-interval-ms", "200"]);
        await using var second = await DashboardServer.StartProcessAsync(sample.Root, ["--name", "ops", "--state-interval-ms", "200"]);

        using var a = await Json.GetAsync(first.Client, "api/status");
        using var b = await Json.GetAsync(second.Client, "api/status");
        await Eventually.UntilAsync(() => File.Exists(sample.State.DashboardStatePath) && File.Exists(Path.Combine(sample.State.DataDirectory, "dashboard_state.ops.json")),
            TimeSpan.FromSeconds(20), "both state files");

        Assert.NotEqual(first.Url, second.Url);
        Assert.Equal("running", a.At("training", "state").GetString());
        Assert.Equal("running", b.At("training", "state").GetString());
        Assert.Equal("ops", b.At("dashboard", "name").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task With_a_given_certificate_it_serves_https_with_hsts()
    {
        using var sample = new SampleState();
        using var secrets = new TempDirectory("st-cert");
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllBytes(secrets.File("dashboard.pfx"), certificate.Export(X509ContentType.Pfx, "pfx-password"));
        File.WriteAllText(secrets.File("password"), "pfx-password");

        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--cert", secrets.File("dashboard.pfx"), "--cert-password-file", secrets.File("password")]);
        string? seen = null;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => (seen = cert?.GetCertHashString()) == certificate.Thumbprint },
        });
        using var response = await client.GetAsync(server.Url + "/healthz", Ct);

        Assert.StartsWith("https://", server.Url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, seen);
        Assert.Contains("max-age", string.Join(",", response.Headers.GetValues("Strict-Transport-Security")));
    }

    [Fact(Timeout = 120_000)]
    public async Task With_a_pem_certificate_and_its_key_file_it_serves_https_and_the_token_cookie_is_secure()
    {
        using var sample = new SampleState();
        using var secrets = new TempDirectory("st-cert");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(secrets.File("dashboard.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(secrets.File("dashboard.key"), key.ExportPkcs8PrivateKeyPem());

        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--cert", secrets.File("dashboard.crt"), "--cert-key", secrets.File("dashboard.key")]);
        string? seen = null;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => (seen = cert?.GetCertHashString()) == certificate.Thumbprint },
        });
        using var login = await client.GetAsync($"{server.Url}/?token={server.OwnToken}", Ct);

        Assert.StartsWith("https://", server.Url);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(certificate.Thumbprint, seen);
        Assert.Contains("secure", login.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 120_000)]
    public async Task Sigterm_stops_it_with_exit_0_and_a_last_state_that_says_disconnected()
    {
        using var sample = new SampleState();
        await using var server = await DashboardServer.StartProcessAsync(sample.Root);
        await Eventually.UntilAsync(() => sample.Data.ReadDashboardState().Document?.IsConnected == true, TimeSpan.FromSeconds(20), "a first state write");

        using (var kill = Process.Start("kill", ["-TERM", server.Process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(Ct);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, server.Process.ExitCode);
        Assert.False(sample.Data.ReadDashboardState().Document!.IsConnected);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunToExitAsync(string[] arguments, IDictionary<string, string>? environment = null)
    {
        using var process = DashboardServer.StartRaw(arguments, environment, out var stdout, out var stderr);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            DashboardServer.Kill(process);
            throw new TimeoutException($"stability-dashboard did not exit: {stderr}");
        }

        // WaitForExitAsync has also waited, under the same bound, for the redirected streams to be drained.
        return (process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
