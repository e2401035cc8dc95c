using StabilityTools.Dashboard.Hosting;

namespace StabilityTools.Dashboard.Tests.Hosting;

public sealed class DashboardCommandLineTests
{
    private static string? NoEnvironment(string name) => null;

    [Fact]
    public void Defaults_bind_loopback_on_8050_without_a_token()
    {
        var (options, code, _) = DashboardCommandLine.Parse([], NoEnvironment);

        Assert.Equal(DashboardExitCodes.Ok, code);
        Assert.Equal("127.0.0.1", options!.Bind);
        Assert.Equal(8050, options.Port);
        Assert.Null(options.Token);
        Assert.True(options.IsLoopback);
    }

    [Fact]
    public void The_token_comes_from_the_environment_when_no_file_is_given()
    {
        var (options, _, _) = DashboardCommandLine.Parse(["--bind", "0.0.0.0"],
            name => name == DashboardCommandLine.TokenVariable ? "abcdefabcdefabcdef" : null);

        Assert.Equal("abcdefabcdefabcdef", options!.Token);
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("::1", true)]
    [InlineData("127.0.0.2", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("192.168.1.10", false)]
    public void Only_loopback_addresses_count_as_loopback(string bind, bool loopback) =>
        Assert.Equal(loopback, new DashboardOptions { Bind = bind }.IsLoopback);

    [Fact]
    public void A_short_token_is_refused()
    {
        var (options, code, message) = DashboardCommandLine.Parse([], name => name == DashboardCommandLine.TokenVariable ? "short" : null);

        Assert.Null(options);
        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("at least 16 characters", message);
    }

    [Fact]
    public void A_missing_token_file_is_a_configuration_problem()
    {
        var (_, code, message) = DashboardCommandLine.Parse(["--token-file", "/nonexistent/token"], NoEnvironment);

        Assert.Equal(DashboardExitCodes.Configuration, code);
        Assert.Contains("/nonexistent/token", message);
    }

    [Fact]
    public void A_missing_value_is_a_usage_error()
    {
        var (_, code, message) = DashboardCommandLine.Parse(["--port"], NoEnvironment);

        Assert.Equal(DashboardExitCodes.Usage, code);
        Assert.Contains("--port needs a value", message);
    }

    [Fact]
    public void Help_prints_the_usage_and_exits_0()
    {
        var (options, code, message) = DashboardCommandLine.Parse(["--help"], NoEnvironment);

        Assert.Null(options);
        Assert.Equal(DashboardExitCodes.Ok, code);
        Assert.StartsWith("usage: stability-dashboard", message);
    }
}
