using System.Net;
using System.Text.Json;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Tests.Api;

/// <summary>The runs API against a real Kestrel (in-process) over runs written on disk as the trainer writes them.</summary>
public sealed class RunsApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly SampleState _sample = new();
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        // Five runs of one experiment that differ in their learning rate only; run-3 also in another experiment. Short
        // histories: xunit runs this class's tests in parallel with the rest, so only the test that needs a long one writes it.
        for (var i = 1; i <= 5; i++)
        {
            SampleRuns.WriteRun(_sample.State, $"run-{i}", learningRate: i / 100.0, experiment: i == 3 ? "other" : "exp", created: i,
                runState: i == 5 ? RunStates.Running : RunStates.Completed);
        }

        SampleRuns.AppendSteps(_sample.State, "run-1", 1_000);
        SampleRuns.AppendSteps(_sample.State, "run-2", 2_000);
        SampleRuns.AppendSteps(_sample.State, "run-3", 3_000);
        _server = await DashboardServer.StartInProcessAsync(new DashboardOptions { StateDirectory = _sample.Root, PollInterval = TimeSpan.FromMilliseconds(250) });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _sample.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_run_list_shows_every_run_with_the_settings_that_differ_and_its_metrics()
    {
        using var list = await Json.GetAsync(_server.Client, "api/runs");

        Assert.Equal(5, list.At("total").GetInt32());
        // Newest first by default.
        Assert.Equal(["run-5", "run-4", "run-3", "run-2", "run-1"], list.At("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
        Assert.Equal(["training.learning_rate"], list.At("key_parameters").EnumerateArray().Select(p => p.GetString()));
        var first = list.At("runs").EnumerateArray().Last();
        Assert.Equal(0.01, first.GetProperty("key_settings").GetProperty("training.learning_rate").GetDouble());
        Assert.Equal(0.1, first.GetProperty("final").GetProperty("val_loss").GetDouble(), 9);
        Assert.Equal(600, first.GetProperty("duration_seconds").GetDouble());
        Assert.Equal("completed", first.GetProperty("state").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task The_run_list_filters_and_sorts_by_a_final_metric()
    {
        using var exp = await Json.GetAsync(_server.Client, "api/runs?experiment=exp&state=completed&sort=final.val_loss&order=asc");

        Assert.Equal(["run-1", "run-2", "run-4"], exp.At("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_one_step_spike_among_fifty_thousand_survives_downsampling_to_500_points()
    {
        // A history needs no record: the log alone is enough (a -FilePath trainer's run before it reported its settings).
        _sample.State.EnsureRun("run-long");
        SampleRuns.AppendSteps(_sample.State, "run-long", 50_000, spikeAt: 31_337);

        using var history = await Json.GetAsync(_server.Client, "api/runs/run-long/history?max_points=500&x=step&kind=step");

        var series = history.At("series").EnumerateArray().ToDictionary(s => s.GetProperty("metric").GetString()!);
        var loss = series["train_loss"];
        var points = loss.GetProperty("points").EnumerateArray().Select(p => (X: p[0].GetDouble(), Y: p[1].GetDouble())).ToList();
        Assert.Equal(50_000, loss.GetProperty("total").GetInt64());
        Assert.InRange(points.Count, 100, 500);
        Assert.Contains((31_337d, 1000d), points);
        Assert.Equal(points.OrderBy(p => p.X).Select(p => p.X), points.Select(p => p.X));
        // The newest value is always the last point, so a live chart ends where the run is.
        Assert.Equal(49_999, points[^1].X);
        // A custom scalar is found by itself and gets its own series.
        Assert.True(series.ContainsKey("grad_norm"), string.Join(", ", series.Keys));
        Assert.Equal(["step"], history.At("series").EnumerateArray().Select(s => s.GetProperty("kind").GetString()).Distinct());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_long_run_s_history_is_saved_as_an_owner_only_index_beside_its_log_and_a_short_one_s_is_not()
    {
        _sample.State.EnsureRun("run-indexed");
        SampleRuns.AppendSteps(_sample.State, "run-indexed", 20_000);
        var run = _sample.State.Run("run-indexed");

        using var history = await Json.GetAsync(_server.Client, "api/runs/run-indexed/history?max_points=100");
        using var shortHistory = await Json.GetAsync(_server.Client, "api/runs/run-1/history?max_points=100");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(run.HistoryIndexPath));
        Assert.False(File.Exists(_sample.State.Run("run-1").HistoryIndexPath));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_history_follows_records_appended_after_it_was_first_read()
    {
        using var before = await Json.GetAsync(_server.Client, "api/runs/run-2/history?kind=epoch&x=epoch&metrics=val_loss");
        Assert.Equal(2, before.At("series")[0].GetProperty("total").GetInt64());

        SampleRuns.AppendSteps(_sample.State, "run-2", 3_000, firstStep: 2_000);

        using var after = await Json.GetAsync(_server.Client, "api/runs/run-2/history?kind=epoch&x=epoch&metrics=val_loss");
        var series = Assert.Single(after.At("series").EnumerateArray());
        Assert.Equal(5, series.GetProperty("total").GetInt64());
        Assert.Equal([1d, 2, 3, 4, 5], series.GetProperty("points").EnumerateArray().Select(p => p[0].GetDouble()));
    }

    [Fact(Timeout = 120_000)]
    public async Task One_run_shows_its_record_status_metrics_and_checkpoints()
    {
        var run = _sample.State.Run("run-2");
        await File.WriteAllBytesAsync(Path.Combine(run.Directory, "ckpt-000003.ckpt"), new byte[123], TestContext.Current.CancellationToken);

        using var detail = await Json.GetAsync(_server.Client, "api/runs/run-2");

        Assert.Equal(0.02, detail.At("run", "parameters", "training.learning_rate").GetDouble());
        Assert.Equal("missing", detail.At("training", "state").GetString());
        var checkpoint = Assert.Single(detail.At("checkpoints").EnumerateArray());
        Assert.Equal("ckpt-000003.ckpt", checkpoint.GetProperty("file").GetString());
        Assert.Equal(123, checkpoint.GetProperty("bytes").GetInt64());
        Assert.Contains(detail.At("metrics").EnumerateArray(), m => m.GetProperty("metric").GetString() == "grad_norm" && m.GetProperty("count").GetInt64() == 2_000);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_comparison_overlays_the_runs_and_names_the_differing_setting()
    {
        using var compare = await Json.GetAsync(_server.Client, "api/compare?runs=run-1,run-2,run-3&x=step&max_points=200&metrics=train_loss,val_loss");

        Assert.Equal(["run-1", "run-2", "run-3"], compare.At("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
        var differing = Assert.Single(compare.At("differing_parameters").EnumerateArray());
        Assert.Equal("training.learning_rate", differing.GetProperty("name").GetString());
        Assert.Equal(0.03, differing.GetProperty("values").GetProperty("run-3").GetDouble());
        foreach (var history in compare.At("histories").EnumerateArray())
        {
            Assert.Equal(["train_loss", "train_loss", "val_loss"], history.GetProperty("series").EnumerateArray().Select(s => s.GetProperty("metric").GetString()).Order());
            Assert.All(history.GetProperty("series").EnumerateArray(), s => Assert.InRange(s.GetProperty("points").GetArrayLength(), 1, 200));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_comparison_downloads_as_csv_with_one_row_per_point()
    {
        using var response = await _server.Client.GetAsync("api/compare?runs=run-2,run-3&metrics=val_loss&kind=epoch&x=epoch&format=csv&download=1", TestContext.Current.CancellationToken);
        var csv = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("compare.csv", response.Content.Headers.ContentDisposition?.ToString() ?? "", StringComparison.Ordinal);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("run_id,metric,kind,x_epoch,value", lines[0]);
        Assert.Equal(2 + 3, lines.Length - 1);
        Assert.StartsWith("run-3,val_loss,epoch,3,0.275", lines[^1], StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("api/runs?sort=bogus", "sort")]
    [InlineData("api/runs?state=sleeping", "state")]
    [InlineData("api/runs?limit=0", "limit")]
    [InlineData("api/runs?since=yesterday", "since")]
    [InlineData("api/runs/run-1/history?x=time", "x")]
    [InlineData("api/runs/run-1/history?max_points=1", "max_points")]
    [InlineData("api/runs/run-1/history?max_points=1000000", "max_points")]
    [InlineData("api/runs/run-1/history?metrics=a%20b", "metrics")]
    [InlineData("api/runs/..run/history", "run_id")]
    [InlineData("api/compare", "runs")]
    [InlineData("api/compare?runs=run-1,,run-2", "runs")]
    [InlineData("api/compare?runs=run-1&format=xml", "format")]
    public async Task A_bad_parameter_is_answered_400_naming_it(string path, string parameter)
    {
        using var response = await _server.Client.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(body);
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(parameter, out _), body);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_unknown_run_is_answered_404()
    {
        using var response = await _server.Client.GetAsync("api/runs/no-such-run", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_run_that_starts_appears_on_the_stream_without_a_reload()
    {
        await using var stream = await SseClient.ConnectAsync(_server.Client);
        using var initial = await stream.NextAsync("runs");
        Assert.Equal(5, initial.At("total").GetInt32());

        SampleRuns.WriteRun(_sample.State, "run-6", learningRate: 0.5, runState: RunStates.Running, created: 6);

        using var update = await stream.NextAsync("runs", d => d.At("total").GetInt32() == 6, Wait);
        Assert.Equal("run-6", update.At("runs")[0].GetProperty("run_id").GetString());
    }
}
