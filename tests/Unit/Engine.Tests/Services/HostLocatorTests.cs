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

    // No hosts override: the default hosts folder (beside the test's engine assembly, which has no trainer) and then the
    // trainer package under the module path given.
    private static Func<string, string?> ModulePathIs(string modulePath) =>
        name => name switch
        {
            HostLocator.HostsDirectoryVariable => null,
            "PSModulePath" => modulePath,
            _ => Environment.GetEnvironmentVariable(name),
        };

    [Fact(Timeout = 120_000)]
    public void The_trainer_is_found_in_its_own_package_at_the_module_version_under_the_module_path()
    {
        using var modules = new TempDirectory();
        var trainer = modules.File("StabilityTools.Trainer", HostLocator.ModuleVersion, "hosts", "trainer", "stability-trainer.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(trainer)!);
        File.WriteAllText(trainer, "");

        var found = HostLocator.Find("trainer", ModulePathIs($"/nonexistent-modules{Path.PathSeparator}{modules.Path}"));

        Assert.Equal(trainer, found);
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_trainer_package_is_TrainerNotInstalled_naming_the_install_command_and_the_folders_searched()
    {
        using var modules = new TempDirectory();
        // Another version of the package does not do: the module runs the trainer built with it.
        var other = modules.File("StabilityTools.Trainer", "99.0.0", "hosts", "trainer", "stability-trainer.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.WriteAllText(other, "");

        var error = Assert.Throws<TrainerNotInstalledException>(() => HostLocator.Find("trainer", ModulePathIs(modules.Path)));

        Assert.Equal("TrainerNotInstalled", error.ErrorId);
        Assert.Contains($"'Install-PSResource -Name StabilityTools.Trainer -Version {HostLocator.ModuleVersion}'", error.Message);
        Assert.Contains("-FilePath", error.Message);
        Assert.Contains(modules.File("StabilityTools.Trainer", HostLocator.ModuleVersion), error.Searched);
    }

    [Fact(Timeout = 120_000)]
    public void The_module_version_is_the_manifest_version()
    {
        var manifest = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "module", "StabilityTools.psd1"));

        Assert.Matches($@"(?m)^\s*ModuleVersion\s*=\s*'{System.Text.RegularExpressions.Regex.Escape(HostLocator.ModuleVersion)}'", manifest);
    }

    [Fact(Timeout = 120_000)]
    public void A_native_host_without_its_execute_bit_gets_the_owner_s_back_and_no_more()
    {
        using var hosts = new TempDirectory();
        var supervisor = hosts.File("supervisor", "stability-supervisor");
        Directory.CreateDirectory(Path.GetDirectoryName(supervisor)!);
        File.WriteAllText(supervisor, "");
        // As a zip extracts it: readable, with no execute bit for anyone.
        File.SetUnixFileMode(supervisor, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        HostLocator.Find("supervisor", HostsAt(hosts.Path));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(supervisor));
    }
}
