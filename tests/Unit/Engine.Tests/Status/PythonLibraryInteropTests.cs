using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>
/// The Python package (python/src/stabilitytools) writes by the same contract the .NET store reads: every document and
/// log line it writes reads back whole with the engine's own types, and its locked updates interleave with the store's
/// without losing either side's changes.
/// </summary>
public sealed class PythonLibraryInteropTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-pylib");

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 180_000)]
    public async Task Every_document_the_python_library_writes_reads_back_whole_with_the_engines_types()
    {
        var python = FindPython();
        Assert.SkipWhen(python is null, "python3 is not installed: the Python package was not run.");
        var ct = TestContext.Current.CancellationToken;
        var state = _dir.File("state");
        await RunPythonAsync(python!, $$"""
            import datetime, stabilitytools as stability
            with stability.run({{Quote(state)}}, run_id="py-run", total_epochs=2, steps_per_epoch=3, device="cuda:0") as run:
                run.params(lr=0.01, model={"kind": "lstm", "layers": [32, 32]}, tag="x")
                for epoch in run.epochs():
                    for _ in range(3):
                        run.step(loss=float("nan"), samples=4)
                    run.log(epoch=epoch, loss=float("nan"), val_loss=0.5 / epoch, val_accuracy=0.5 + epoch / 10,
                            samples_per_sec=100.0, learning_rate=0.01, grad_norm=float("inf"), weight_norm=1.5)
                    run.log(epoch=epoch, step=epoch * 3, loss=0.25, kind="step")
                    run.checkpoint({"w": epoch}, epoch=epoch)
                t0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)
                run.market([(t0, 1, 2, 0.5, 1.5, 100)], [(t0, 0.7, 1)], symbol="SYNTH", source="feed")
            """, ct);

        var store = new StatusStore();
        var folder = Path.Combine(state, "runs", "py-run");
        var status = store.Read<TrainingStatus>(Path.Combine(folder, "training_status.json"));
        Assert.True(status.State == ReadState.Ok, status.Error);
        Assert.Equal((TrainerState.Completed, false, 2, 6L, 6L), (status.Document!.State, status.Document.IsRunning, status.Document.CurrentEpoch, status.Document.TotalSteps, status.Document.Progress));
        Assert.True(double.IsNaN(status.Document.Loss));
        Assert.Equal("cuda:0", status.Document.Device);

        var run = store.Read<TrainingRun>(Path.Combine(folder, "run.json"));
        Assert.True(run.State == ReadState.Ok, run.Error);
        Assert.Equal((RunStates.Completed, 2, 1, "training"), (run.Document!.State, run.Document.Epochs, run.Document.Attempts, run.Document.Service));
        Assert.Equal(0.01, run.Document.Parameters["lr"].GetDouble());
        Assert.Equal(32, run.Document.Parameters["model.layers"][1].GetInt32());
        Assert.True(double.IsPositiveInfinity(run.Document.Final["grad_norm"]));
        Assert.Equal(0.25, run.Document.Best["val_loss"]);
        Assert.NotNull(run.Document.Ended);

        var metrics = store.Read<ModelMetrics>(Path.Combine(folder, "model_metrics.json"));
        Assert.True(metrics.State == ReadState.Ok, metrics.Error);
        Assert.Equal((2, 0.7, 0.01), (metrics.Document!.Epoch, metrics.Document.BestValAccuracy, metrics.Document.LearningRate));

        var market = store.Read<MarketData>(Path.Combine(folder, "market_data.json"));
        Assert.True(market.State == ReadState.Ok, market.Error);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero), market.Document!.Bars[0].Time);
        Assert.Equal((0.7, 1), (market.Document.Predictions[0].ProbabilityUp, market.Document.Predictions[0].Signal));

        var history = new JsonLinesLog<MetricRecord>(Path.Combine(folder, "metrics.jsonl")).ReadAll();
        Assert.Equal(0, history.SkippedLines);
        Assert.Equal(["epoch:1", "step:1", "epoch:2", "step:2"], history.Records.Select(r => $"{StatusJson.WireName(r.Kind)}:{r.Epoch}"));
        Assert.True(double.IsNaN(history.Records[0].TrainLoss!.Value));
        Assert.True(double.IsPositiveInfinity(history.Records[0].Scalars!["grad_norm"]));
        Assert.Equal(1.5, history.Records[2].Scalars!["weight_norm"]);

        var events = new JsonLinesLog<StabilityEvent>(Path.Combine(state, "events.jsonl")).ReadAll();
        Assert.Equal(0, events.SkippedLines);
        Assert.Equal(["started", "completed"], events.Records.Select(e => e.Type));
        Assert.All(events.Records, e => Assert.Equal(("training", "py-run"), (e.Service, e.Data!["run_id"])));
    }

    [Fact(Timeout = 180_000)]
    public async Task The_python_librarys_run_json_updates_and_the_stores_never_lose_each_others_changes()
    {
        var python = FindPython();
        Assert.SkipWhen(python is null, "python3 is not installed: the Python package was not run.");
        var ct = TestContext.Current.CancellationToken;
        var state = _dir.File("state");
        var runJson = Path.Combine(state, "runs", "shared", "run.json");
        const int each = 100;
        // The Python side holds the run open and records one parameter at a time: each a locked read-modify-write.
        var python_ = RunPythonAsync(python!, $$"""
            import stabilitytools as stability
            with stability.run({{Quote(state)}}, run_id="shared", fsync=False) as run:
                for i in range({{each}}):
                    run.params({f"p{i}": i})
            """, ct);
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        var added = 0;
        while (added < each)
        {
            if (!File.Exists(runJson))
            {
                await Task.Delay(5, ct);
                continue;
            }

            store.Update<TrainingRun>(runJson, run => run! with { Tags = [.. run.Tags, $"t{added}"] });
            added++;
        }

        await python_;
        var final = store.Read<TrainingRun>(runJson);
        Assert.True(final.State == ReadState.Ok, final.Error);
        Assert.Equal(each, final.Document!.Tags.Count);
        Assert.Equal(Enumerable.Range(0, each).Select(i => $"p{i}").Order(StringComparer.Ordinal), final.Document.Parameters.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(RunStates.Completed, final.Document.State);
    }

    private async Task RunPythonAsync(string python, string code, CancellationToken ct)
    {
        var script = _dir.File($"script-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, code, ct);
        var info = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(script);
        info.Environment["PYTHONPATH"] = Path.Combine(RepositoryRoot.Path, "python", "src");
        foreach (var name in new[] { "STABILITY_HOME", "STABILITY_RUN_ID", "STABILITY_RUN_DIR", "STABILITY_SERVICE" })
        {
            info.Environment.Remove(name);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(120), ct);
        Assert.True(process.ExitCode == 0, $"python exited with {process.ExitCode}: {await stderr}{await stdout}");
    }

    private static string Quote(string path) => "r'" + path.Replace("'", "\\'", StringComparison.Ordinal) + "'";

    // Debian's python3 first (the one the build's venv comes from), then any on PATH; the package needs 3.9 or newer.
    private static string? FindPython() =>
        new[] { "/usr/bin/python3" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, "python3")))
            .FirstOrDefault(File.Exists);
}
