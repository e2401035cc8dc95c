using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Unicode;
using StabilityTools.Bench.Dashboard;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Bench.DashboardRuns;

/// <summary>
/// The dashboard's run history (issue #18), against the real <c>stability-dashboard</c> process: 20 runs × 500,000 metric
/// records written straight to their <c>metrics.jsonl</c> (not through the trainer), then start to first page, the run
/// list, one run's history at 1,000 points (cold: the first read of the log; warm: later reads of its tail), 5 runs
/// overlaid, RSS with every run indexed, file write → SSE push with all that history on disk, and then a fresh dashboard
/// process's first read of each run, from the history index the first one saved beside each log (<c>metrics.index</c>).
/// </summary>
/// <remarks>Options: <c>--runs N</c> (20), <c>--records N</c> (500,000 per run), <c>--samples N</c> (100), <c>--dashboard PATH</c>.</remarks>
internal static class DashboardRunsBench
{
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = DashboardBench.Option(args, "--runs", 20);
        var records = DashboardBench.Option(args, "--records", 500_000);
        var samples = DashboardBench.Option(args, "--samples", 100);
        var dll = DashboardBench.OptionText(args, "--dashboard") ?? typeof(DashboardRunsBench).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "DashboardPath").Value!;
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-runs-{Guid.NewGuid():N}"[..26]);
        var state = StateDirectory.Open(root);
        try
        {
            var generate = Stopwatch.StartNew();
            var ids = Enumerable.Range(0, runs).Select(i => $"run-{i:00}").ToList();
            var bytes = Generate(state, ids, records);
            generate.Stop();

            // The newest run is the training service's current one: the live view follows a run of 500,000 records.
            var live = new SharedDataManager(state, new StatusStoreOptions { Fsync = false }, run: state.Run(ids[^1]));
            DashboardBench.WriteTraining(live, 1);
            state.EnsureServiceDirectory("training");
            live.Store.Write(state.ServiceStatusPath("training"), new ProcessStatus { Name = "training", Status = ServiceState.Running, Pid = 1, LastHeartbeat = DateTimeOffset.UtcNow, RunId = ids[^1] });
            var tokenFile = Path.Combine(root, "bench.token");
            var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            File.WriteAllText(tokenFile, token);

            // The same dashboard over a state directory with one short run, in the same sitting and interleaved: on this
            // shared, noisy machine only the ratio says whether start-up and pushes grow with history.
            var emptyRoot = root + "-empty";
            var emptyState = StateDirectory.Open(emptyRoot);
            var emptyLive = new SharedDataManager(emptyState, new StatusStoreOptions { Fsync = false }, run: emptyState.EnsureRun("run-short"));
            DashboardBench.WriteTraining(emptyLive, 1);
            var startEmpty = new List<double>();
            var startFull = new List<double>();
            for (var round = 0; round < 3; round++)
            {
                startEmpty.Add(await FirstPageAsync(dll, emptyRoot, tokenFile, token));
                startFull.Add(await FirstPageAsync(dll, root, tokenFile, token));
            }

            List<double> pushEmpty;
            using (var baseline = DashboardBench.Start(dll, emptyRoot, tokenFile))
            {
                using var baseHttp = Client(await DashboardBench.WaitForUrlAsync(baseline), token);
                pushEmpty = await DashboardBench.MeasureLatencyAsync(baseHttp, emptyLive, samples * 2);
                baseline.Kill(entireProcessTree: true);
                await baseline.WaitForExitAsync();
            }

            var started = Stopwatch.StartNew();
            using var dashboard = DashboardBench.Start(dll, root, tokenFile);
            try
            {
                var url = await DashboardBench.WaitForUrlAsync(dashboard);
                using var http = Client(url, token);
                (await http.GetAsync("")).EnsureSuccessStatusCode();
                var firstPage = started.Elapsed.TotalMilliseconds;
                var rssAtStart = DashboardBench.RssMb(dashboard.Id);

                var list = await TimeAsync(http, _ => "api/runs", samples);
                var cold = new List<double>();
                var coldAnswers = new List<string>();
                var spikeDrawn = false;
                var maxReturned = 0;
                foreach (var id in ids)
                {
                    var clock = Stopwatch.StartNew();
                    var body = await GetAsync(http, FirstReadPath(id));
                    cold.Add(clock.Elapsed.TotalMilliseconds);
                    coldAnswers.Add(body);
                    using var doc = JsonDocument.Parse(body);
                    var points = doc.RootElement.GetProperty("series")[0].GetProperty("points");
                    maxReturned = Math.Max(maxReturned, points.GetArrayLength());
                    spikeDrawn |= id == ids[0] && points.EnumerateArray().Any(p => p[1].GetDouble() == 50);
                }

                var history = await TimeAsync(http, i => $"api/runs/{ids[i % ids.Count]}/history?max_points=1000", samples);
                var compare = await TimeAsync(http, i => $"api/compare?runs={string.Join(',', Enumerable.Range(i, 5).Select(k => ids[k % ids.Count]))}&max_points=1000", samples / 2);
                var rssIndexed = DashboardBench.RssMb(dashboard.Id);
                var push = await DashboardBench.MeasureLatencyAsync(http, live, samples * 2);
                var (lagP50, lagP95) = await UpdateLagAsync(http);
                var rssEnd = DashboardBench.RssMb(dashboard.Id);
                dashboard.Kill(entireProcessTree: true);
                await dashboard.WaitForExitAsync();

                // A fresh process over the same state directory: its first read of each run starts from the saved index.
                var indexes = ids.Count(id => File.Exists(state.Run(id).HistoryIndexPath));
                var (warm, sameAnswers, restartFirstPage) = await FirstReadsFromIndexAsync(dll, root, tokenFile, token, ids, coldAnswers);

                Console.WriteLine(BenchReport.Header("Dashboard run history (`stability-bench dashboard-runs`)"));
                Console.WriteLine($"Load average {DashboardBench.LoadAverage()} at the end. {runs} runs × {records:N0} metric records " +
                                  $"({(double)runs * records / 1e6:0.#} million, {bytes / 1048576.0:N0} MB of `metrics.jsonl`; each record a step with `train_loss`, " +
                                  $"`learning_rate` and a custom scalar, an epoch record every 5,000 steps) written directly in {generate.Elapsed.TotalSeconds:0.0} s; " +
                                  "the real stability-dashboard process on 127.0.0.1 with a token; the training service's current run is the newest, so the " +
                                  "live view follows a run of that length. Latencies are whole HTTP round trips from a client in another process.");
                Console.WriteLine();
                Console.WriteLine("| figure | value | goal |");
                Console.WriteLine("|---|---|---|");
                Console.WriteLine($"| start to first page (process start → `GET /` 200), median of 3 / with one short run, interleaved | {BenchReport.Median(startFull):0} / {BenchReport.Median(startEmpty):0} ms | ≤ 2,000 ms; no growth |");
                Console.WriteLine($"| start to first page, the measured session's own start | {firstPage:0} ms | |");
                Console.WriteLine($"| `/api/runs` ({runs} runs), p50 / p95 ({list.Count} requests) | {P(list, 50):0.0} / {P(list, 95):0.0} ms | ≤ 50 ms |");
                Console.WriteLine($"| one run's history at 1,000 points, first read, no index (cold: the whole log), p50 / max over {runs} runs | {P(cold, 50):0} / {cold.Max():0} ms | |");
                Console.WriteLine($"| the same in a fresh dashboard process, from the saved index (warm), p50 / max over {runs} runs; indexes saved / answers equal to cold | {P(warm, 50):0.0} / {warm.Max():0.0} ms; {indexes} / {sameAnswers} | p50 ≤ 50 ms |");
                Console.WriteLine($"| that fresh process's start to first page (with {indexes} indexes on disk) | {restartFirstPage:0} ms | ≤ 2,000 ms |");
                Console.WriteLine($"| one run's history at 1,000 points, every metric, indexed, p50 / p95 ({history.Count} requests) | {P(history, 50):0.0} / {P(history, 95):0.0} ms | p50 ≤ 50 ms |");
                Console.WriteLine($"| 5 runs overlaid (`/api/compare`, 1,000 points), p50 / p95 ({compare.Count} requests) | {P(compare, 50):0.0} / {P(compare, 95):0.0} ms | ≤ 150 ms |");
                Console.WriteLine($"| most points in one series / the one-record spike in run-00 drawn | {maxReturned} / {(spikeDrawn ? "yes" : "NO")} | ≤ 1,000 / yes |");
                Console.WriteLine($"| dashboard RSS after start / with all {runs} runs indexed / at the end | {rssAtStart:0} / {rssIndexed:0} / {rssEnd:0} MB | ≤ 250 MB |");
                Console.WriteLine($"| file write → SSE `training` event, p50 / p95 ({push.Count} samples) | {P(push, 50):0.0} / {P(push, 95):0.0} ms | ≤ 5 / ≤ 15 ms |");
                Console.WriteLine($"| of which file write → the dashboard's refresh reads it (its own `update_lag`, last 512 changes), p50 / p95 | {lagP50:0.0} / {lagP95:0.0} ms | |");
                Console.WriteLine($"| the same with one short run on disk (just before), p50 / p95 | {P(pushEmpty, 50):0.0} / {P(pushEmpty, 95):0.0} ms | |");
                Console.WriteLine();
                Console.WriteLine($"Reproduce: `dotnet pwsh ./build.ps1 Bench -Suite dashboard-runs` (or `dotnet artifacts/bench/stability-bench.dll dashboard-runs --runs {runs} --records {records}`).");
                return 0;
            }
            finally
            {
                if (!dashboard.HasExited)
                {
                    dashboard.Kill(entireProcessTree: true);
                }

                await dashboard.WaitForExitAsync();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
                if (Directory.Exists(root + "-empty"))
                {
                    Directory.Delete(root + "-empty", recursive: true);
                }
            }
            catch (IOException)
            {
                // Temp clutter only.
            }
        }
    }

    // Only train_loss of the step records: the one-record spike in run-00 is a train_loss step.
    private static string FirstReadPath(string id) => $"api/runs/{id}/history?max_points=1000&kind=step&metrics=train_loss";

    /// <summary>
    /// Starts a fresh dashboard over <paramref name="root"/> and times its first history read of every run; counts the answers
    /// that are byte for byte the first process's (read from the whole log).
    /// </summary>
    private static async Task<(List<double> Times, int Same, double FirstPage)> FirstReadsFromIndexAsync(string dll, string root, string tokenFile, string token,
        IReadOnlyList<string> ids, IReadOnlyList<string> coldAnswers)
    {
        var clock = Stopwatch.StartNew();
        using var dashboard = DashboardBench.Start(dll, root, tokenFile);
        try
        {
            using var http = Client(await DashboardBench.WaitForUrlAsync(dashboard), token);
            (await http.GetAsync("")).EnsureSuccessStatusCode();
            var firstPage = clock.Elapsed.TotalMilliseconds;
            var times = new List<double>(ids.Count);
            var same = 0;
            for (var i = 0; i < ids.Count; i++)
            {
                var read = Stopwatch.StartNew();
                var body = await GetAsync(http, FirstReadPath(ids[i]));
                times.Add(read.Elapsed.TotalMilliseconds);
                same += body == coldAnswers[i] ? 1 : 0;
            }

            return (times, same, firstPage);
        }
        finally
        {
            dashboard.Kill(entireProcessTree: true);
            await dashboard.WaitForExitAsync();
        }
    }

    /// <summary>The dashboard's own measure of file write → refresh (<c>/api/status</c>), the first part of a push's latency.</summary>
    private static async Task<(double P50, double P95)> UpdateLagAsync(HttpClient http)
    {
        using var status = JsonDocument.Parse(await GetAsync(http, "api/status"));
        var self = status.RootElement.GetProperty("dashboard");
        return (self.GetProperty("update_lag_p50_ms").GetDouble(), self.GetProperty("update_lag_p95_ms").GetDouble());
    }

    private static HttpClient Client(string url, string token)
    {
        var http = new HttpClient { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromSeconds(120) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Starts a dashboard over <paramref name="root"/>, times it to its first page, stops it.</summary>
    private static async Task<double> FirstPageAsync(string dll, string root, string tokenFile, string token)
    {
        var clock = Stopwatch.StartNew();
        using var dashboard = DashboardBench.Start(dll, root, tokenFile);
        try
        {
            using var http = Client(await DashboardBench.WaitForUrlAsync(dashboard), token);
            (await http.GetAsync("")).EnsureSuccessStatusCode();
            return clock.Elapsed.TotalMilliseconds;
        }
        finally
        {
            dashboard.Kill(entireProcessTree: true);
            await dashboard.WaitForExitAsync();
        }
    }

    private static double P(List<double> values, double p) => BenchReport.Percentile(values.Order().ToList(), p);

    private static async Task<string> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {body}");
        }

        return body;
    }

    /// <summary>Round trips of <paramref name="path"/>(i), after 5 unmeasured warm-up requests.</summary>
    private static async Task<List<double>> TimeAsync(HttpClient http, Func<int, string> path, int samples)
    {
        var times = new List<double>(samples);
        for (var i = -5; i < samples; i++)
        {
            var clock = Stopwatch.StartNew();
            await GetAsync(http, path(Math.Max(0, i)));
            if (i >= 0)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        return times;
    }

    /// <summary>Writes each run's record and metric log directly (formatted bytes, no serializer), the runs in parallel; returns the log bytes.</summary>
    private static long Generate(StateDirectory state, IReadOnlyList<string> ids, int records)
    {
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        long total = 0;
        Parallel.For(0, ids.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, r =>
        {
            var paths = state.EnsureRun(ids[r]);
            var created = Origin.AddHours(r);
            var lr = 0.001 * (1 + r % 5);
            store.Write(paths.RunInfoPath, new TrainingRun
            {
                RunId = ids[r], Service = "training", Experiment = r % 2 == 0 ? "even" : "odd", State = r == ids.Count - 1 ? RunStates.Running : RunStates.Completed,
                Created = created, Started = created, Ended = r == ids.Count - 1 ? null : created.AddSeconds(records), Attempts = 1, Epochs = records / 5000,
                Parameters = new Dictionary<string, JsonElement>
                {
                    ["training.learning_rate"] = JsonSerializer.SerializeToElement(lr),
                    ["training.batch_size"] = JsonSerializer.SerializeToElement(64),
                    ["training.seed"] = JsonSerializer.SerializeToElement(r),
                },
                Final = new Dictionary<string, double> { ["val_loss"] = 0.3 + r / 100.0, ["val_accuracy"] = 0.7 - r / 100.0 },
                Best = new Dictionary<string, double> { ["val_loss"] = 0.25 + r / 100.0, ["val_accuracy"] = 0.75 - r / 100.0 },
            });
            using var file = SafeFileFor(paths.MetricsLogPath);
            var buffer = new byte[1 << 20];
            var used = 0;
            for (var step = 0; step < records; step++)
            {
                if (buffer.Length - used < 512)
                {
                    file.Write(buffer, 0, used);
                    used = 0;
                }

                var time = created.UtcDateTime.AddSeconds(step);
                var loss = r == 0 && step == records / 2 ? 50 : 2.0 / (1 + step / 1000.0) + (step % 13) / 1000.0;
                Utf8.TryWrite(buffer.AsSpan(used), CultureInfo.InvariantCulture,
                    $"{{\"time\":\"{time:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"run_id\":\"{ids[r]}\",\"kind\":\"step\",\"epoch\":{step / 5000 + 1},\"step\":{step},\"train_loss\":{loss:0.######},\"learning_rate\":{lr},\"scalars\":{{\"grad_norm\":{1 + (step % 7) / 10.0}}}}}\n",
                    out var written);
                used += written;
                if (step % 5000 == 4999)
                {
                    Utf8.TryWrite(buffer.AsSpan(used), CultureInfo.InvariantCulture,
                        $"{{\"time\":\"{time:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"run_id\":\"{ids[r]}\",\"kind\":\"epoch\",\"epoch\":{step / 5000 + 1},\"step\":{step},\"train_loss\":{loss:0.######},\"val_loss\":{loss * 1.1:0.######},\"val_accuracy\":{0.5 + step / (4.0 * records):0.######}}}\n",
                        out written);
                    used += written;
                }
            }

            file.Write(buffer, 0, used);
            Interlocked.Add(ref total, file.Length);
        });
        return total;
    }

    private static FileStream SafeFileFor(string path) =>
        Engine.Platform.SafeFile.Open(path, Engine.Platform.SafeFileMode.CreateNew, FileAccess.Write);
}
