using System.Globalization;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>Specs for the module's own hosts: the trainer and the dashboard, run under the dotnet host.</summary>
public static class BuiltInServices
{
    /// <summary>The default trainer service name.</summary>
    public const string TrainingName = "training";

    /// <summary>The default dashboard service name.</summary>
    public const string DashboardName = "dashboard";

    /// <summary>The dashboard's default port.</summary>
    public const int DefaultPort = 8050;

    /// <summary>
    /// The built-in trainer: <c>stability-trainer --state-dir DIR [--config FILE]</c>, kind training
    /// (restart on failure, hang detection on its progress).
    /// </summary>
    /// <exception cref="ConfigurationException">The trainer host is not installed, or the config file does not exist.</exception>
    public static ServiceSpec Trainer(StateDirectory state, string name = TrainingName, string? configPath = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (configPath is not null && !File.Exists(configPath))
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "config",
                $"The configuration file '{configPath}' does not exist. Give the path of an existing file, or leave -ConfigPath out for the defaults."))
            { Service = name, Path = configPath };
        }

        var (program, leading) = HostLocator.CommandFor(HostLocator.Find("trainer"));
        List<string> arguments = [.. leading, "--state-dir", state.Root];
        if (configPath is not null)
        {
            arguments.AddRange(["--config", Path.GetFullPath(configPath)]);
        }

        return ServiceSpec.ForKind(ServiceKind.Training, name, program, arguments);
    }

    /// <summary>The memory limit a dashboard gets when it has none yet (the supervisor restarts it over this; kernel-enforced where a cgroup is writable). 512 MiB.</summary>
    public const double DefaultDashboardMemoryLimitMb = 512;

    /// <summary>
    /// The built-in dashboard: <c>stability-dashboard --state-dir DIR --name NAME --bind ADDRESS --port PORT</c> plus
    /// what <paramref name="access"/> asks for, kind dashboard (always restarted, nice 10, no GPU, probed on
    /// <c>/healthz</c> with a 1 s timeout, exit code 98 = port in use). The token is never on the command line: the
    /// dashboard reads it from its token file (<see cref="DashboardToken"/>) or <see cref="DashboardAccess.TokenFile"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">The dashboard host is not installed, or the address, port or access options are invalid.</exception>
    public static ServiceSpec Dashboard(StateDirectory state, string name = DashboardName, string bindAddress = "127.0.0.1", int port = DefaultPort, DashboardAccess? access = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        access ??= new DashboardAccess();
        var problems = new List<ConfigurationProblem>();
        if (!System.Net.IPAddress.TryParse(bindAddress, out var address))
        {
            problems.Add(new ConfigurationProblem(null, null, "bind_address", $"'{bindAddress}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)."));
        }
        else if (access.NoAuthentication && !System.Net.IPAddress.IsLoopback(address))
        {
            problems.Add(new ConfigurationProblem(null, null, "no_authentication",
                $"a dashboard without a token may listen on a loopback address only; {bindAddress} would open it to the network. Leave -NoAuthentication out, or bind to 127.0.0.1."));
        }

        if (port is < 1 or > 65535)
        {
            problems.Add(new ConfigurationProblem(null, null, "port", $"must be between 1 and 65535; was {port}."));
        }

        foreach (var (key, path) in new[] { ("token_file", access.TokenFile), ("certificate_path", access.CertificatePath), ("certificate_key_path", access.CertificateKeyPath) })
        {
            if (path is not null && !File.Exists(path))
            {
                problems.Add(new ConfigurationProblem(null, null, key, $"the file '{path}' does not exist."));
            }
        }

        if (access.CertificateKeyPath is not null && access.CertificatePath is null)
        {
            problems.Add(new ConfigurationProblem(null, null, "certificate_key_path", "a certificate key needs its certificate (-CertificatePath)."));
        }

        foreach (var host in access.AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
            {
                problems.Add(new ConfigurationProblem(null, null, "allowed_host", $"'{host}' is not a host name or IP address."));
            }
        }

        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems) { Service = name };
        }

        // A wildcard bind answers on loopback too; probe there.
        var probeHost = address!.Equals(System.Net.IPAddress.Any) ? "127.0.0.1"
            : address.Equals(System.Net.IPAddress.IPv6Any) ? "[::1]"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var (program, leading) = HostLocator.CommandFor(HostLocator.Find("dashboard"));
        List<string> arguments = [.. leading, "--state-dir", state.Root, "--name", name, "--bind", bindAddress, "--port", portText];
        if (access.NoAuthentication)
        {
            arguments.Add("--no-auth");
        }
        else if (access.TokenFile is not null)
        {
            arguments.AddRange(["--token-file", Path.GetFullPath(access.TokenFile)]);
        }

        foreach (var host in access.AllowedHosts)
        {
            arguments.AddRange(["--allowed-host", host]);
        }

        if (access.CertificatePath is not null)
        {
            arguments.AddRange(["--cert", Path.GetFullPath(access.CertificatePath)]);
            if (access.CertificateKeyPath is not null)
            {
                arguments.AddRange(["--cert-key", Path.GetFullPath(access.CertificateKeyPath)]);
            }
        }

        var scheme = access.CertificatePath is null ? "http" : "https";
        return ServiceSpec.ForKind(ServiceKind.Dashboard, name, program, arguments)
            with { Port = port, HealthUrl = $"{scheme}://{probeHost}:{portText}/healthz" };
    }

    /// <summary>The address a browser opens for a dashboard bound to <paramref name="bindAddress"/> (loopback for a wildcard bind).</summary>
    public static string DashboardUrl(string bindAddress, int port, bool https)
    {
        var host = bindAddress switch
        {
            "0.0.0.0" => "127.0.0.1",
            "::" => "[::1]",
            _ when bindAddress.Contains(':', StringComparison.Ordinal) => $"[{bindAddress}]",
            _ => bindAddress,
        };
        return $"{(https ? "https" : "http")}://{host}:{port.ToString(CultureInfo.InvariantCulture)}/";
    }
}
