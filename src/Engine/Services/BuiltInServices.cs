using System.Globalization;
using StabilityTools.Engine.Errors;
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

    /// <summary>
    /// The built-in dashboard: <c>stability-dashboard --state-dir DIR --bind ADDRESS --port PORT</c>, kind dashboard
    /// (always restarted, nice 10, no GPU, probed on <c>/healthz</c>, exit code 98 = port in use).
    /// </summary>
    /// <exception cref="ConfigurationException">The dashboard host is not installed, or the address or port is invalid.</exception>
    public static ServiceSpec Dashboard(StateDirectory state, string name = DashboardName, string bindAddress = "127.0.0.1", int port = DefaultPort)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<ConfigurationProblem>();
        if (!System.Net.IPAddress.TryParse(bindAddress, out var address))
        {
            problems.Add(new ConfigurationProblem(null, null, "bind_address", $"'{bindAddress}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)."));
        }

        if (port is < 1 or > 65535)
        {
            problems.Add(new ConfigurationProblem(null, null, "port", $"must be between 1 and 65535; was {port}."));
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
        return ServiceSpec.ForKind(ServiceKind.Dashboard, name, program, [.. leading, "--state-dir", state.Root, "--bind", bindAddress, "--port", portText])
            with { Port = port, HealthUrl = $"http://{probeHost}:{portText}/healthz" };
    }
}
