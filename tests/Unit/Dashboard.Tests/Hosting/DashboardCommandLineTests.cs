using StabilityTools.Dashboard.Hosting;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Hosting;

public sealed class DashboardCommandLineTests
{
    private static string? NoEnvironment(string name) => null;

    [Fact(Timeout = 120_000)]
    public void Defaults_bind_loopback_on_8050_with_the_dashboards_own_token_made_owner_only_in_the_state_directory()
    {
        using var temp = new TempDirectory("st-cli");
        var state = StateDirectory.Open(temp.Path);

        var (options, code, message) = DashboardCommandLine.Parse(["--state-dir", state.Root], NoEnvironment);

        Assert.True(code == DashboardExitCodes.Ok, message);
        Assert.Equal("127.0.0.1", options!.Bind);
        Assert.Equal(8050, options.Port);
        Assert.True(options.IsLoopback);
        Assert.False(options.NoAuthentication);
        var path = DashboardToken.PathFor(state, "dashboard");
        Assert.Equal(File.ReadAllText(path).Trim(), options.Token);
        Assert.Equal(64, options.Token!.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
    }

    [Fact(Timeout = 120_000)]
    public void A_second_start_reads_the_same_own_token_and_each_name_has_its_own()
    {
        using var temp = new TempDirectory("st-cli");
        var state = StateDirectory.Open(temp.Path);

        var first = DashboardCommandLine.Parse(["--state-dir", state.Root], NoEnvironment).Options!.Token;
        var again = DashboardCommandLine.Parse(["--state-dir", state.Root], NoEnvironment).Options!.Token;
        var ops = DashboardCommandLine.Parse(["--state-dir", state.Root, "--name", "ops"], NoEnvironment).Options!.Token;

        Assert.Equal(first, again);
        Assert.NotEqual(first, ops);
        Assert.True(File.Exists(DashboardToken.PathFor(state, "ops")));
    }

    [Fact(Timeout = 120_000)]
    public void Without_a_state_directory_and_a_token_choice_it_refuses_to_start()
    {
        using var temp = new TempDirectory("st-cli");

        var (options, code, message) = DashboardCommandLine.Parse(["--state-dir", Path.Combine(temp.Path, "absent")], NoEnvironment);

        Assert.Null(options);
        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("--no-auth", message);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "absent")));
    }

    [Fact(Timeout = 120_000)]
    public void No_auth_is_allowed_on_loopback_only()
    {
        using var temp = new TempDirectory("st-cli");

        var loopback = DashboardCommandLine.Parse(["--state-dir", temp.Path, "--no-auth"], NoEnvironment);
        var wildcard = DashboardCommandLine.Parse(["--state-dir", temp.Path, "--no-auth", "--bind", "0.0.0.0"], NoEnvironment);

        Assert.True(loopback.Options!.NoAuthentication);
        Assert.Null(loopback.Options.Token);
        Assert.False(File.Exists(Path.Combine(temp.Path, "services", "dashboard", DashboardToken.FileName)));
        Assert.Equal(DashboardExitCodes.Configuration, wildcard.ExitCode);
        Assert.Contains("loopback only", wildcard.Message);
    }

    [Fact(Timeout = 120_000)]
    public void Allowed_hosts_connection_bounds_and_a_pem_key_are_read_and_checked()
    {
        using var temp = new TempDirectory("st-cli");

        var good = DashboardCommandLine.Parse(["--state-dir", temp.Path, "--no-auth", "--allowed-host", "dash.example", "--allowed-host", "10.0.0.5",
            "--max-connections-per-client", "8", "--max-connections", "100", "--keep-alive-timeout-s", "3", "--stream-send-timeout-s", "4"], NoEnvironment);
        var bad = DashboardCommandLine.Parse(["--state-dir", temp.Path, "--no-auth", "--allowed-host", "bad host/", "--cert-key", "/nonexistent.key",
            "--max-connections-per-client", "1"], NoEnvironment);

        Assert.Equal(["dash.example", "10.0.0.5"], good.Options!.AllowedHosts);
        Assert.Equal(8, good.Options.MaxConnectionsPerClient);
        Assert.Equal(100, good.Options.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(3), good.Options.KeepAliveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), good.Options.StreamSendTimeout);
        Assert.Equal(DashboardExitCodes.Configuration, bad.ExitCode);
        Assert.Contains("'bad host/' is not a host name", bad.Message);
        Assert.Contains("needs its certificate", bad.Message);
        Assert.Contains("--max-connections-per-client", bad.Message);
    }

    [Fact(Timeout = 120_000)]
    public void The_token_comes_from_the_environment_when_no_file_is_given()
    {
        var (options, _, _) = DashboardCommandLine.Parse(["--bind", "0.0.0.0"],
            name => name == DashboardCommandLine.TokenVariable ? "abcdefabcdefabcdef" : null);

        Assert.Equal("abcdefabcdefabcdef", options!.Token);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("localhost", true)]
    [InlineData("::1", true)]
    [InlineData("127.0.0.2", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("192.168.1.10", false)]
    public void Only_loopback_addresses_count_as_loopback(string bind, bool loopback) =>
        Assert.Equal(loopback, new DashboardOptions { Bind = bind }.IsLoopback);

    [Fact(Timeout = 120_000)]
    public void A_short_token_is_refused()
    {
        var (options, code, message) = DashboardCommandLine.Parse(["--state-dir", "/nonexistent/state"], name => name == DashboardCommandLine.TokenVariable ? "short" : null);

        Assert.Null(options);
        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("at least 16 characters", message);
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_token_file_is_a_configuration_problem()
    {
        var (_, code, message) = DashboardCommandLine.Parse(["--token-file", "/nonexistent/token"], NoEnvironment);

        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("/nonexistent/token", message);
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_value_is_a_usage_error()
    {
        var (_, code, message) = DashboardCommandLine.Parse(["--port"], NoEnvironment);

        Assert.Equal(DashboardExitCodes.Usage, code);
        Assert.Contains("--port needs a value", message);
    }

    [Fact(Timeout = 120_000)]
    public void Help_prints_the_usage_and_exits_0()
    {
        var (options, code, message) = DashboardCommandLine.Parse(["--help"], NoEnvironment);

        Assert.Null(options);
        Assert.Equal(DashboardExitCodes.Ok, code);
        Assert.StartsWith("usage: stability-dashboard", message);
    }
}
