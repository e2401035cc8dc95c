using StabilityTools.Dashboard.Hosting;

// stability-dashboard: the isolated Kestrel dashboard (docs/ARCHITECTURE.md, "The processes"). Reads the state directory,
// serves the page and API, writes only data/dashboard_state.json. Exit codes are a contract with the
// supervisor (DashboardExitCodes): 64 bad command line, 78 invalid configuration, 98 port in use.
var (options, exitCode, message) = DashboardCommandLine.Parse(args, Environment.GetEnvironmentVariable);
if (options is null)
{
    (exitCode == DashboardExitCodes.Ok ? Console.Out : Console.Error).WriteLine(message);
    return exitCode;
}

// A dashboard serves what is in the state directory: one that others can write is refused, as everywhere else.
try
{
    if (StabilityTools.Engine.State.StateDirectory.Locate(options.StateDirectory) is { Exists: true } state)
    {
        state.EnsureTrusted();
    }
}
catch (StabilityTools.Engine.Errors.StateDirectoryException ex)
{
    Console.Error.WriteLine($"stability-dashboard: {ex.Message}");
    return DashboardExitCodes.Configuration;
}

await using var app = DashboardApp.Build(options);
try
{
    await app.StartAsync();
}
catch (Exception ex) when (DashboardApp.IsAddressInUse(ex))
{
    Console.Error.WriteLine(
        $"stability-dashboard: port {options.Port} on {options.Bind} is already in use. " +
        "Stop whatever holds it, or start the dashboard on another port (--port / Start-Dashboard -Port).");
    return DashboardExitCodes.PortInUse;
}

Console.Out.WriteLine($"stability-dashboard: serving {DashboardApp.ServedUrl(app)} from {StabilityTools.Engine.State.StateDirectory.ResolveRoot(options.StateDirectory)}");
await app.WaitForShutdownAsync();
return DashboardExitCodes.Ok;
