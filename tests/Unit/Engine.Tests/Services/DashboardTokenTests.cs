using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>A dashboard's own token file, and one state document per dashboard.</summary>
public sealed class DashboardTokenTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-token");

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 120_000)]
    public void The_first_read_makes_a_random_owner_only_token_and_later_reads_return_it()
    {
        var state = StateDirectory.Open(_dir.File("state"));

        var first = DashboardToken.ReadOrCreate(state, "dashboard");
        var again = DashboardToken.ReadOrCreate(state, "dashboard");
        var other = DashboardToken.ReadOrCreate(state, "ops");

        Assert.Matches("^[0-9a-f]{64}$", first);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        var path = DashboardToken.PathFor(state, "dashboard");
        Assert.Equal(Path.Combine(state.Root, "services", "dashboard", "dashboard.token"), path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact(Timeout = 120_000)]
    public async Task Starters_racing_for_a_new_token_all_get_the_same_one()
    {
        var state = StateDirectory.Open(_dir.File("state"));

        for (var round = 0; round < 20; round++)
        {
            var name = $"race-{round}";
            using var go = new ManualResetEventSlim();
            var racers = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                go.Wait(TimeSpan.FromSeconds(10));
                return DashboardToken.ReadOrCreate(state, name);
            })).ToList();
            go.Set();
            var tokens = await Task.WhenAll(racers);

            Assert.Single(tokens.Distinct());
            Assert.Equal(tokens[0], DashboardToken.ReadOrCreate(state, name));
            Assert.Single(Directory.GetFiles(state.ServiceDirectory(name)));
        }
    }

    [Fact(Timeout = 120_000)]
    public void A_given_token_replaces_the_file_and_a_bad_one_is_refused()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        DashboardToken.ReadOrCreate(state, "dashboard");

        DashboardToken.Write(state, "dashboard", "chosen-token-0123456789");

        Assert.Equal("chosen-token-0123456789", DashboardToken.ReadOrCreate(state, "dashboard"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DashboardToken.PathFor(state, "dashboard")));
        Assert.Throws<ArgumentException>(() => DashboardToken.Write(state, "dashboard", "short"));
        Assert.Throws<ArgumentException>(() => DashboardToken.Write(state, "dashboard", "has white space in it 0123"));
        Assert.Empty(Directory.GetFiles(state.ServiceDirectory("dashboard"), "*.tmp-*"));
    }

    [Fact(Timeout = 120_000)]
    public void A_token_file_that_holds_no_token_is_an_error_that_says_what_to_do()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var path = DashboardToken.PathFor(state, "dashboard");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "  \n");

        var error = Assert.Throws<StateDirectoryException>(() => DashboardToken.ReadOrCreate(state, "dashboard"));

        Assert.Contains("Delete it", error.Message);
        Assert.Equal(path, error.Path);
    }

    [Fact(Timeout = 120_000)]
    public void An_own_token_file_others_can_read_is_refused()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        DashboardToken.ReadOrCreate(state, "dashboard");
        var path = DashboardToken.PathFor(state, "dashboard");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<StateDirectoryException>(() => DashboardToken.ReadOrCreate(state, "dashboard"));

        Assert.Contains("chmod 600", error.Message);
    }

    [Fact(Timeout = 120_000)]
    public void The_login_link_carries_the_token_escaped()
    {
        Assert.Equal("http://127.0.0.1:8050/?token=abc%2B%2Fdef0123456789", DashboardToken.LoginUrl("http://127.0.0.1:8050/", "abc+/def0123456789"));
        Assert.Equal("https://[::1]:8443/?token=0123456789abcdef", DashboardToken.LoginUrl("https://[::1]:8443", "0123456789abcdef"));
    }

    [Fact(Timeout = 120_000)]
    public void Each_dashboard_has_its_own_state_document_the_default_keeping_the_old_name_and_the_inspector_lists_all()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var data = new SharedDataManager(state, new StatusStoreOptions { Fsync = false });
        data.Store.Write(state.DashboardStatePathFor("dashboard"), new DashboardState { IsConnected = true, Url = "http://127.0.0.1:8050" });
        data.Store.Write(state.DashboardStatePathFor("ops"), new DashboardState { IsConnected = true, Url = "http://127.0.0.1:8051" });
        File.WriteAllText(Path.Combine(state.DataDirectory, "dashboard_state.Not Valid.json"), "{}");

        var listed = state.ListDashboardStates();
        var report = new StateDirectoryInspector().Inspect(state);

        Assert.Equal(state.DashboardStatePath, state.DashboardStatePathFor("dashboard"));
        Assert.Equal(Path.Combine(state.DataDirectory, "dashboard_state.ops.json"), state.DashboardStatePathFor("ops"));
        Assert.Equal(["dashboard", "ops"], listed.Select(d => d.Name));
        Assert.Equal("http://127.0.0.1:8051", data.ReadDashboardState("ops").Document!.Url);
        Assert.Equal(["dashboard", "ops"], data.ReadDashboardStates().Select(d => d.Name));
        Assert.Equal(ReadState.Ok, report.Documents.Single(d => d.Name == "data/dashboard_state.json").State);
        Assert.Equal(ReadState.Ok, report.Documents.Single(d => d.Name == "data/dashboard_state.ops.json").State);
    }

    [Fact(Timeout = 120_000)]
    public void Without_any_dashboard_the_inspector_still_reports_the_default_state_document_missing()
    {
        var state = StateDirectory.Open(_dir.File("state"));

        var report = new StateDirectoryInspector().Inspect(state);

        Assert.Equal(ReadState.Missing, report.Documents.Single(d => d.Name.StartsWith("data/dashboard_state", StringComparison.Ordinal)).State);
    }
}
