using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

public sealed class StateDirectoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        key => values.FirstOrDefault(v => v.Key == key).Value;

    [Fact(Timeout = 120_000)]
    public void An_explicit_path_wins_over_the_environment()
    {
        var root = StateDirectory.ResolveRoot("/tmp/explicit", Env(("STABILITY_HOME", "/tmp/home")));
        Assert.Equal("/tmp/explicit", root);
    }

    [Fact(Timeout = 120_000)]
    public void STABILITY_HOME_wins_over_the_platform_default()
    {
        var root = StateDirectory.ResolveRoot(null, Env(("STABILITY_HOME", "/tmp/home"), ("XDG_STATE_HOME", "/tmp/xdg")));
        Assert.Equal("/tmp/home", root);
    }

    [Fact(Timeout = 120_000)]
    public void On_Linux_the_default_follows_XDG_STATE_HOME_then_HOME()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "XDG applies to Unix.");
        Assert.Equal("/tmp/xdg/stability-tools", StateDirectory.ResolveRoot(null, Env(("XDG_STATE_HOME", "/tmp/xdg"), ("HOME", "/home/u"))));
        Assert.Equal("/home/u/.local/state/stability-tools", StateDirectory.ResolveRoot(null, Env(("HOME", "/home/u"))));
        // A relative XDG_STATE_HOME is invalid by the XDG spec and ignored.
        Assert.Equal("/home/u/.local/state/stability-tools", StateDirectory.ResolveRoot(null, Env(("XDG_STATE_HOME", "rel"), ("HOME", "/home/u"))));
    }

    [Fact(Timeout = 120_000)]
    public void Open_creates_the_layout_with_owner_only_permissions()
    {
        var state = StateDirectory.Open(_dir.File("state"));

        foreach (var dir in new[] { state.Root, state.ServicesDirectory, state.DataDirectory, state.ResourcesDirectory, state.RunsDirectory })
        {
            Assert.True(Directory.Exists(dir), dir);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
            }
        }

        Assert.Empty(Directory.GetFiles(state.Root));
    }

    [Fact(Timeout = 120_000)]
    public void Locate_creates_nothing()
    {
        var state = StateDirectory.Locate(_dir.File("state"));

        Assert.False(state.Exists);
        Assert.False(Directory.Exists(state.Root));
        Assert.Empty(state.ListServices());
    }

    [Fact(Timeout = 120_000)]
    public void A_state_directory_path_that_is_a_file_is_a_clear_error()
    {
        var path = _dir.File("state");
        File.WriteAllText(path, "not a directory");

        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(path));

        Assert.Contains("is a file", error.Message, StringComparison.Ordinal);
        Assert.Contains("-StateDirectory", error.Message, StringComparison.Ordinal);
        Assert.Equal("StateDirectoryUnusable", error.ErrorId);
    }

    [Fact(Timeout = 120_000)]
    public void An_unwritable_state_directory_is_a_clear_error()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Uses a read-only mount or Unix permissions.");
        var path = _dir.File("ro");
        Directory.CreateDirectory(path);
        using var readOnly = ReadOnlyMount.TryCreate(path);
        Assert.SkipWhen(readOnly is null, "Cannot make a read-only directory here: not root (root ignores permissions) or mount(8) unavailable.");

        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(path));

        // Creating the layout fails first: the message names the directory and says what to do.
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("Choose a writable one with -StateDirectory or STABILITY_HOME", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("training", true)]
    [InlineData("dash-2.b_c", true)]
    [InlineData("", false)]
    [InlineData("Training", false)]
    [InlineData("../etc", false)]
    [InlineData("a/b", false)]
    [InlineData("-x", false)]
    [InlineData("x\n", false)]
    [InlineData("x\r\n", false)]
    public void Service_names_are_validated(string name, bool valid)
    {
        Assert.Equal(valid, StateDirectory.IsValidServiceName(name));
        var state = StateDirectory.Locate(_dir.Path);
        if (valid)
        {
            Assert.EndsWith(Path.Combine("services", name, "status.json"), state.ServiceStatusPath(name), StringComparison.Ordinal);
        }
        else
        {
            Assert.Throws<ArgumentException>(() => state.ServiceStatusPath(name));
        }
    }

    [Fact(Timeout = 120_000)]
    public void Services_are_listed_from_their_directories_sorted()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        state.EnsureServiceDirectory("training");
        state.EnsureServiceDirectory("dashboard");
        Directory.CreateDirectory(Path.Combine(state.ServicesDirectory, "Not Valid"));

        Assert.Equal(["dashboard", "training"], state.ListServices());
        Assert.True(Directory.Exists(state.ServiceLogDirectory("training")));
    }

    [Fact(Timeout = 120_000)]
    public void The_inspector_reports_every_document_state_without_writing()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var data = new SharedDataManager(state, new StatusStoreOptions { Fsync = false }, run: state.EnsureRun("run-1"));
        data.WriteTrainingStatus(new TrainingStatus { CurrentEpoch = 1 });
        File.WriteAllText(data.Run!.MarketDataPath, "{");
        state.EnsureServiceDirectory("training");
        state.EnsureServiceDirectory("idle");
        data.Store.Write(state.ServiceStatusPath("training"), new ProcessStatus { Name = "training", RunId = "run-1" });

        var before = Directory.GetFiles(state.Root, "*", SearchOption.AllDirectories).Length;
        var report = new StateDirectoryInspector().Inspect(state);
        var after = Directory.GetFiles(state.Root, "*", SearchOption.AllDirectories).Length;

        Assert.Equal(before, after);
        // The documents of the run a service works on, by their place in the directory.
        Assert.Equal(ReadState.Ok, report.Documents.Single(d => d.Name == "runs/run-1/training_status.json").State);
        Assert.Equal(1, report.Documents.Single(d => d.Name == "runs/run-1/training_status.json").Seq);
        Assert.Equal(ReadState.Corrupt, report.Documents.Single(d => d.Name == "runs/run-1/market_data.json").State);
        Assert.Equal(ReadState.Missing, report.Documents.Single(d => d.Name == "runs/run-1/model_metrics.json").State);
        Assert.Equal(ReadState.Ok, report.Documents.Single(d => d.Name == "services/training/status.json").State);
        Assert.Equal(ReadState.Missing, report.Documents.Single(d => d.Name == "services/idle/status.json").State);
    }

    [Fact(Timeout = 120_000)]
    public void The_shared_data_manager_speaks_the_seed_operations()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var data = new SharedDataManager(state, new StatusStoreOptions { Fsync = false }, run: state.EnsureRun("run-1"));

        data.WriteTrainingStatus(new TrainingStatus { IsRunning = true, CurrentEpoch = 3, TotalEpochs = 10, Loss = 0.5, Accuracy = 0.6 });
        data.WriteMarketData(new MarketData { Symbol = "SYNTH", Bars = [new MarketBar(DateTimeOffset.UnixEpoch, 1, 2, 0.5, 1.5, 100)] });
        data.WriteModelMetrics(new ModelMetrics { Epoch = 3, ValAccuracy = 0.61 });
        data.UpdateQuotas(q => q with { GpuQuotas = [new GpuQuota("training", 4096, 0, QuotaAction.Warn, false)] });
        data.Metrics.Append(new MetricRecord { Epoch = 3 });
        data.Events.Append(new StabilityEvent { Type = "started" });

        Assert.Equal(3, data.ReadTrainingStatus().Document!.CurrentEpoch);
        Assert.Equal("SYNTH", data.ReadMarketData().Document!.Symbol);
        Assert.Equal(1.5, data.ReadMarketData().Document!.Bars[0].Close);
        Assert.Equal(0.61, data.ReadModelMetrics().Document!.ValAccuracy);
        Assert.Equal(4096, data.ReadQuotas().Document!.GpuQuotas[0].MemoryMb);
        Assert.Single(data.Metrics.ReadAll().Records);
        Assert.Single(data.Events.ReadAll().Records);
    }
}
