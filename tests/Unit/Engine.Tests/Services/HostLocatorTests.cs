using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Services;

public sealed class HostLocatorTests
{
    private static Func<string, string?> HostsAt(string directory) =>
        name => name == HostLocator.HostsDirectoryVariable ? directory : Environment.GetEnvironmentVariable(name);

    [Fact(Timeout = 120_000)]
    public void A_native_supervisor_is_found_and_run_as_is()
    {
        using var hosts = new TempDirectory();
        Directory.CreateDirectory(hosts.File("supervisor"));
        File.WriteAllText(hosts.File("supervisor", "stability-supervisor"), "");

        var found = HostLocator.Find("supervisor", HostsAt(hosts.Path));
        var (program, arguments) = HostLocator.CommandFor(found);

        Assert.Equal(hosts.File("supervisor", "stability-supervisor"), found);
        Assert.Equal(found, program);
        Assert.Empty(arguments);
    }

    [Fact(Timeout = 120_000)]
    public void A_framework_dependent_build_wins_over_its_own_apphost()
    {
        // A `dotnet build` output holds both stability-supervisor.dll and an apphost named stability-supervisor.
        using var hosts = new TempDirectory();
        File.WriteAllText(hosts.File("stability-supervisor"), "");
        File.WriteAllText(hosts.File("stability-supervisor.dll"), "");

        var found = HostLocator.Find("supervisor", HostsAt(hosts.Path));

        Assert.Equal(hosts.File("stability-supervisor.dll"), found);
        Assert.Equal([found], HostLocator.CommandFor(found).Arguments);
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_host_names_both_forms_and_the_folders_searched()
    {
        using var hosts = new TempDirectory();

        var error = Assert.Throws<ConfigurationException>(() => HostLocator.Find("supervisor", HostsAt(hosts.Path)));

        Assert.Contains("stability-supervisor.dll or stability-supervisor", error.Message);
        Assert.Contains(hosts.Path, error.Message);
    }
}
