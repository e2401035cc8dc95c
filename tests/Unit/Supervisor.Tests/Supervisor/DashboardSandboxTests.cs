using System.Diagnostics;
using StabilityTools.Engine.Platform;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>
/// The sandbox a dashboard run as another user goes through (the real supervisor executable with --sandbox): the one
/// capability it is given reads any file, and Landlock confines that to what the rules name.
/// </summary>
public sealed class DashboardSandboxTests : IDisposable
{
    private const string Nobody = "65534";
    private readonly TempDirectory _dir = new("st-sandbox");

    public DashboardSandboxTests()
    {
        // A root-only folder, as a state directory is.
        File.SetUnixFileMode(_dir.Path, FilePermissions.OwnerOnlyDirectory);
        File.WriteAllText(_dir.File("events.jsonl"), "{\"type\":\"started\"}\n");
        File.SetUnixFileMode(_dir.File("events.jsonl"), FilePermissions.OwnerOnlyFile);
    }

    public void Dispose() => _dir.Dispose();

    private static void SkipUnlessPossible()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && UserAccount.IsRoot, "Acting as another user with a capability takes root on Linux.");
        Assert.SkipUnless(Landlock.AbiVersion >= 1, "This kernel has no Landlock.");
        Assert.SkipUnless(ExecutableResolver.Resolve("setpriv") is not null, "setpriv (util-linux) is not installed.");
    }

    // Runs /bin/sh -c script as nobody with CAP_DAC_READ_SEARCH, through the sandbox when rules are given.
    private static (int Code, string Output) AsNobodyWithCapability(string script, params string[] rules)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search" })
        {
            info.ArgumentList.Add(argument);
        }

        if (rules.Length > 0)
        {
            info.ArgumentList.Add(TestPrograms.SupervisorPath);
            info.ArgumentList.Add("--sandbox");
            foreach (var rule in rules)
            {
                info.ArgumentList.Add(rule);
            }

            info.ArgumentList.Add("--");
        }

        foreach (var argument in new[] { "/bin/sh", "-c", script })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "the sandboxed shell did not end within 30 s");
        return (process.ExitCode, output.Result + error.Result);
    }

    private string[] Rules() => ["--read", _dir.Path, "--read-exec", "/usr", "--read-exec", "/lib", "--read-exec", "/lib64", "--read-exec", "/bin"];

    [Fact(Timeout = 120_000)]
    public void The_capability_alone_reads_any_file_which_is_why_the_sandbox_is_needed()
    {
        SkipUnlessPossible();

        var (code, output) = AsNobodyWithCapability("cat /etc/shadow >/dev/null && echo read");

        Assert.Equal(0, code);
        Assert.Contains("read", output);
    }

    [Fact(Timeout = 120_000)]
    public void Sandboxed_it_reads_the_root_only_state_directory_and_nothing_outside_the_rules()
    {
        SkipUnlessPossible();

        var inside = AsNobodyWithCapability($"cat '{_dir.File("events.jsonl")}'", Rules());
        var outside = AsNobodyWithCapability("cat /etc/shadow", Rules());

        Assert.Equal(0, inside.Code);
        Assert.Contains("started", inside.Output);
        Assert.NotEqual(0, outside.Code);
        Assert.Contains("Permission denied", outside.Output);
    }

    [Fact(Timeout = 120_000)]
    public void Sandboxed_it_writes_nothing_of_the_state_directory_only_its_own_folder()
    {
        SkipUnlessPossible();
        var own = _dir.File("own");
        Directory.CreateDirectory(own, FilePermissions.OwnerOnlyDirectory);
        FilePermissions.ChangeOwner(own, 65534, 65534);

        var (code, output) = AsNobodyWithCapability(
            $"echo x >> '{_dir.File("events.jsonl")}' || echo refused-append; echo y > '{_dir.File("new")}' || echo refused-create; echo z > '{own}/state.json' && echo wrote-own",
            [.. Rules(), "--own", own]);

        Assert.Equal(0, code);
        Assert.Contains("refused-append", output);
        Assert.Contains("refused-create", output);
        Assert.Contains("wrote-own", output);
        Assert.Equal("{\"type\":\"started\"}\n", File.ReadAllText(_dir.File("events.jsonl")));
        Assert.False(File.Exists(_dir.File("new")));
    }

    [Fact(Timeout = 120_000)]
    public void A_malformed_sandbox_line_is_refused_with_its_usage()
    {
        SkipUnlessPossible();

        var (code, output) = AsNobodyWithCapability("echo ran", "--write", "/");

        Assert.Equal(64, code);
        Assert.Contains("unknown rule", output);
        Assert.DoesNotContain("ran", output.Replace("unknown rule", ""));
    }
}
