using System.Diagnostics;
using StabilityTools.Engine.Deployment;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Deployment;

/// <summary>
/// The unit Export-StabilityServiceUnit writes says exactly what was meant, whatever the paths hold: read back with
/// systemd's quoting rules (everywhere), and checked by systemd itself with <c>systemd-analyze verify</c> where it is installed.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new("st-unit");

    public void Dispose() => _dir.Dispose();

    /// <summary>Folder names that break a naive unit: specifiers, variables, backslashes, quotes, whitespace, ';', prefixes, unicode.</summary>
    public static TheoryData<string> HostileNames =>
    [
        "dir with  spaces",
        "50%n percent %% %i",
        "cost $HOME ${HOME} $$ $",
        @"back\slash \n \x41 trailing\",
        "quote \"double\" and 'single' \"",
        "semi ; colon: \\;",
        "-dash @at +plus !bang :colon",
        "ünïcødé € 日本 🚀",
    ];

    /// <summary>Single words as hostile as a path can be, and the empty word.</summary>
    public static TheoryData<string> HostileWords =>
    [
        "", " ", "plain", "%", "%%", "%n", "$", "$$", "${X}", "$X", @"\", @"\\", @"\n", "\"", "'", "\"'\"", ";", @"\;",
        "a b", "tab\u00a0nbsp", "ünï €", "-x", "@x", "=x", "a=b", "#not a comment", "end\\",
    ];

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileWords))]
    public void A_command_word_reads_back_unchanged_under_systemd_quoting(string word)
    {
        Assert.Equal([word], SystemdSyntax.Arguments(SystemdUnit.CommandWord(word)));
        Assert.Equal(["/bin/prog", word, word], SystemdSyntax.Command($"/bin/prog {SystemdUnit.CommandWord(word)} {SystemdUnit.CommandWord(word)}").Argv);
    }

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileWords))]
    public void A_command_line_runs_exactly_its_program_and_arguments(string word)
    {
        // Everything but what systemd refuses in a program's path (see A_program_path_systemd_refuses_to_run_is_refused) may be in it.
        var program = $"/opt/{Runnable(word)}/prog";

        var (path, argv) = SystemdSyntax.Command(SystemdUnit.CommandLine(program, [word, "--flag", word]));

        Assert.Equal(program, path);
        Assert.Equal([program, word, "--flag", word], argv);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("/opt/quote\"d/prog")]
    [InlineData("/opt/it's/prog")]
    [InlineData("/opt/back\\slash/prog")]
    public void A_program_path_systemd_refuses_to_run_is_refused(string program)
    {
        Assert.False(SystemdUnit.IsRunnableProgram(program));
        Assert.Throws<ArgumentException>(() => SystemdUnit.CommandLine(program, []));
    }

    [Fact(Timeout = 180_000)]
    public void A_supervisor_installed_where_systemd_cannot_run_it_is_refused_with_what_to_do()
    {
        var (state, _) = Prepare("plain");
        var supervisor = Path.Combine(_dir.Path, "it's \\here", "stability-supervisor");

        var error = Assert.Throws<ConfigurationException>(() => SystemdUnit.Render(state, "trainer", supervisor));

        var problem = Assert.Single(error.Problems);
        Assert.Equal("supervisor", problem.Key);
        Assert.Contains("systemd refuses to run a program whose path holds a quote or a backslash", problem.Message);
        Assert.Contains(supervisor, problem.Message);
        Assert.Contains(HostLocator.HostsDirectoryVariable, problem.Message);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("")]
    [InlineData("-prog")]
    [InlineData("@prog")]
    [InlineData("+prog")]
    [InlineData("!prog")]
    [InlineData(":prog")]
    public void A_program_systemd_would_read_as_a_prefix_is_refused(string program)
    {
        Assert.Throws<ArgumentException>(() => SystemdUnit.CommandLine(program, []));
    }

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileWords))]
    public void An_environment_value_reads_back_unchanged_and_a_dollar_stays_literal(string value)
    {
        var assignments = SystemdSyntax.Environment(SystemdUnit.EnvironmentWord("STABILITY_HOME", value) + " " + SystemdUnit.EnvironmentWord("OTHER", value));

        Assert.Equal(value, assignments["STABILITY_HOME"]);
        Assert.Equal(value, assignments["OTHER"]);
    }

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileWords))]
    public void A_path_list_entry_reads_back_unchanged(string path)
    {
        Assert.Equal([path, path], SystemdSyntax.PathList(SystemdUnit.PathWord(path) + " " + SystemdUnit.PathWord(path)));
    }

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileNames))]
    public void Every_path_in_the_unit_reads_back_unchanged_under_systemd_quoting(string hostile)
    {
        var (state, supervisor) = Prepare(hostile);

        var unit = SystemdUnit.Render(state, "trainer", supervisor);

        var (path, argv) = SystemdSyntax.Command(SystemdSyntax.Setting(unit, "ExecStart"));
        Assert.Equal(supervisor, path);
        Assert.Equal([supervisor, "--state-dir", state.Root, "--service", "trainer"], argv);
        Assert.Equal(state.Root, Assert.Single(SystemdSyntax.Environment(SystemdSyntax.Setting(unit, "Environment")), e => e.Key == StateDirectory.HomeVariable).Value);
        Assert.Equal([state.Root], SystemdSyntax.PathList(SystemdSyntax.Setting(unit, "RequiresMountsFor")));
        Assert.Equal("StabilityTools supervisor for 'trainer'", SystemdSyntax.Text(SystemdSyntax.Setting(unit, "Description")));
    }

    [Fact(Timeout = 180_000)]
    public void A_framework_dependent_supervisor_runs_under_dotnet_with_its_hostile_path_intact()
    {
        var (state, _) = Prepare("dll $HOME 100% \"q\"");
        var dll = Path.Combine(_dir.Path, "dll $HOME 100% \"q\" \\ 'q'", "stability-supervisor.dll");

        var (path, argv) = SystemdSyntax.Command(SystemdSyntax.Setting(SystemdUnit.Render(state, "trainer", dll), "ExecStart"));

        Assert.Equal(HostLocator.DotNetHost(), path);
        Assert.Equal([HostLocator.DotNetHost(), dll, "--state-dir", state.Root, "--service", "trainer"], argv);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("line\nbreak")]
    [InlineData("carriage\rreturn")]
    [InlineData("tab\there")]
    [InlineData("bell\a")]
    public void A_state_directory_whose_path_holds_a_control_character_is_refused_with_what_to_do(string hostile)
    {
        var (state, supervisor) = Prepare(hostile);

        var error = Assert.Throws<ConfigurationException>(() => SystemdUnit.Render(state, "trainer", supervisor));

        Assert.Equal("InvalidConfiguration", error.ErrorId);
        Assert.Contains(error.Problems, p => p.Key == "StateDirectory" && p.Message.Contains("control character") && p.Message.Contains("-StateDirectory"));
        Assert.Contains(error.Problems, p => p.Key == "supervisor");
        // The message shows the character escaped: a raw one would garble the error record it lands in.
        Assert.DoesNotContain(error.Problems, p => p.Message.Any(char.IsControl));
    }

    [Theory(Timeout = 180_000)]
    [InlineData("a b")]
    [InlineData("alice\n")]
    [InlineData("alice\nExecStartPre=/bin/sh")]
    [InlineData("-alice")]
    [InlineData("a:b")]
    [InlineData("a/b")]
    [InlineData("%n")]
    [InlineData("")]
    [InlineData("1alice")]
    public void A_user_name_systemd_would_misread_is_refused(string user)
    {
        var (state, supervisor) = Prepare("users");

        var error = Assert.Throws<ConfigurationException>(() => SystemdUnit.Render(state, "trainer", supervisor, user));

        Assert.Equal("User", Assert.Single(error.Problems).Key);
        Assert.Contains("not a user name systemd reads as one", error.Message);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("alice")]
    [InlineData("svc_trainer-1")]
    [InlineData("_daemon")]
    [InlineData("1001")]
    public void A_plain_user_name_or_uid_is_written_as_User(string user)
    {
        var (state, supervisor) = Prepare("users");

        Assert.Equal(user, SystemdSyntax.Text(SystemdSyntax.Setting(SystemdUnit.Render(state, "trainer", supervisor, user), "User")));
    }

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(HostileNames))]
    public void A_unit_with_hostile_paths_passes_systemd_analyze_verify(string hostile)
    {
        var analyze = SystemdAnalyze();
        var (state, supervisor) = Prepare(hostile);
        var unit = SystemdUnit.Render(state, "trainer", supervisor, "root");

        var (flagged, output) = Verify(analyze, unit);

        Assert.False(flagged, $"systemd-analyze verify flagged the unit:{Environment.NewLine}{output}{Environment.NewLine}{unit}");
    }

    [Fact(Timeout = 180_000)]
    public void Systemd_analyze_verify_flags_a_unit_written_without_escaping_or_with_broken_quoting()
    {
        var analyze = SystemdAnalyze();
        var (state, supervisor) = Prepare("50%n percent");
        var unit = SystemdUnit.Render(state, "trainer", supervisor, "root");
        Assert.False(Verify(analyze, unit).Flagged);

        // What the writer produced before escaping: '%n' in the program's path becomes the unit's name.
        var unescaped = Verify(analyze, unit.Replace("%%", "%", StringComparison.Ordinal));
        // A quote left open.
        var unbalanced = Verify(analyze, unit.Replace("ExecStart=", "ExecStart=\"", StringComparison.Ordinal));

        Assert.True(unescaped.Flagged, "verify passed a unit whose ExecStart names a program that is not there");
        Assert.True(unbalanced.Flagged, "verify passed a unit with unbalanced quoting");
    }

    /// <summary><paramref name="word"/> without what systemd refuses in a program's path (quotes, backslashes).</summary>
    private static string Runnable(string word) => new(word.Where(c => c is not ('"' or '\'' or '\\')).ToArray());

    /// <summary>
    /// A state directory under a folder named <paramref name="hostile"/> with a spec for 'trainer', and a supervisor host
    /// that really runs under a folder named as hostile as systemd allows for a program (<see cref="Runnable"/>).
    /// </summary>
    private (StateDirectory State, string Supervisor) Prepare(string hostile)
    {
        var root = Path.Combine(_dir.Path, hostile);
        var state = StateDirectory.Open(Path.Combine(root, "state"));
        state.EnsureServiceDirectory("trainer");
        new StatusStore(new StatusStoreOptions { Fsync = false }).Write(state.ServiceSpecPath("trainer"), ServiceSpec.ForKind(ServiceKind.Training, "trainer", "/bin/true"));
        // A real executable at the supervisor's path: systemd-analyze verify checks that ExecStart's program exists.
        var supervisor = Path.Combine(_dir.Path, "hosts " + Runnable(hostile), "stability-supervisor");
        Directory.CreateDirectory(Path.GetDirectoryName(supervisor)!);
        File.Copy(ExecutableResolver.Resolve("true") ?? "/bin/true", supervisor);
        return (state, supervisor);
    }

    private static string SystemdAnalyze()
    {
        var analyze = ExecutableResolver.Resolve("systemd-analyze");
        Assert.SkipWhen(analyze is null, "systemd-analyze is not installed (Debian package 'systemd'; .ci/run installs it): the units were checked with the quoting parser only.");
        return analyze!;
    }

    /// <summary>
    /// Runs <c>systemd-analyze verify</c> on <paramref name="unit"/> offline (no running systemd needed). Flagged: a
    /// non-zero exit, or any message about the unit's file, since systemd only warns ("ignoring") about many bad settings.
    /// </summary>
    private (bool Flagged, string Output) Verify(string analyze, string unit)
    {
        var folder = Path.Combine(_dir.Path, $"units-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "stability-trainer.service");
        File.WriteAllText(file, unit);
        var info = new ProcessStartInfo(analyze) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "verify", "--man=no", "--generators=no", file })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["SYSTEMD_LOG_COLOR"] = "0";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(VerifyTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"systemd-analyze verify did not finish within {VerifyTimeout.TotalSeconds:0} s.");
        }

        var output = (stdout.Result + stderr.Result).Trim();
        var aboutUnit = output.Split('\n').Where(l => l.Contains("stability-trainer.service", StringComparison.Ordinal)).ToList();
        return (process.ExitCode != 0 || aboutUnit.Count > 0, $"exit {process.ExitCode}: {output}");
    }
}
