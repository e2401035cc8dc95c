using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Threading.Channels;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Bench.Dashboard;

/// <summary>
/// The dashboard suite (issue #5), against the real <c>stability-dashboard</c> process on a loopback port:
/// file write → SSE event latency, <c>/api/status</c> requests per second from a bounded in-process load
/// generator, and the dashboard's RSS while 20 SSE clients stay connected and the trainer keeps writing.
/// </summary>
/// <remarks>
/// Options: <c>--samples N</c> (latency samples, default 200), <c>--load-seconds N</c> (default 5),
/// <c>--concurrency N</c> (default 16), <c>--soak-seconds N</c> (default 60; the issue asks for 600),
/// <c>--clients N</c> (default 20), <c>--dashboard PATH</c> (a built stability-dashboard.dll).
/// </remarks>
internal static class DashboardBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var samples = Option(args, "--samples", 200);
        var loadSeconds = Option(args, "--load-seconds", 5);
        var concurrency = Option(args, "--concurrency", 16);
        var soakSeconds = Option(args, "--soak-seconds", 60);
        var clients = Option(args, "--clients", 20);
        var dll = OptionText(args, "--dashboard") ?? typeof(DashboardBench).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "DashboardPath").Value!;

        var root = Path.Combine(Path.GetTempPath(), $"st-bench-dash-{Guid.NewGuid():N}"[..26]);
        var state = StateDirectory.Open(root);
        // The trainer's writers with fsync off: this measures the dashboard's pipeline, not the disk.
        var data = new SharedDataManager(state, new StatusStoreOptions { Fsync = false });
        Populate(data, state);

        using var dashboard = Start(dll, root);
        try
        {
            var url = await WaitForUrlAsync(dashboard);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                BaseAddress = new Uri(url + "/"),
                Timeout = TimeSpan.FromSeconds(30),
            };

            var latency = await MeasureLatencyAsync(http, data, samples);
            var load = await MeasureLoadAsync(http, loadSeconds, concurrency);
            var rss = await MeasureSoakAsync(http, data, dashboard, clients, soakSeconds);

            Console.WriteLine("## dashboard");
            Console.WriteLine();
            Console.WriteLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} CPU(s), .NET {Environment.Version}; " +
                              "the real stability-dashboard process on 127.0.0.1, rate limit off (`--rate-limit 0`), file-system watch on.");
            Console.WriteLine();
            Console.WriteLine("| figure | value | goal |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| file write → SSE `training` event, p50 ({latency.Count} samples) | {Percentile(latency, 50):0.0} ms | ≤ 50 ms |");
            Console.WriteLine($"| file write → SSE `training` event, p95 | {Percentile(latency, 95):0.0} ms | ≤ 50 ms |");
            Console.WriteLine($"| file write → SSE `training` event, max | {latency.Max():0.0} ms | |");
            Console.WriteLine($"| `/api/status` requests/s ({concurrency} concurrent clients, {loadSeconds} s) | {load.PerSecond:0} | |");
            Console.WriteLine($"| `/api/status` latency under that load, p50 / p95 | {load.P50:0.0} / {load.P95:0.0} ms | |");
            Console.WriteLine($"| `/api/status` non-200 answers | {load.Failures} | 0 |");
            Console.WriteLine($"| RSS with {clients} SSE clients, after 10 s warm-up | {rss.AfterWarmup:0.0} MB | |");
            Console.WriteLine($"| RSS with {clients} SSE clients, at the end of a {soakSeconds} s soak (1 training write/s) | {rss.End:0.0} MB | no growth |");
            Console.WriteLine($"| RSS max during the soak | {rss.Max:0.0} MB | |");
            Console.WriteLine($"| `training` SSE events received per client during the soak (min) / training writes | {rss.MinEventsPerClient} / {rss.Writes} | all (pushes coalesce only when writes overlap) |");
            Console.WriteLine();
            Console.WriteLine("RSS and managed heap over the soak (heap from the dashboard's own `dashboard_state.json`):");
            Console.WriteLine();
            Console.WriteLine("| second | RSS MB | managed heap MB |");
            Console.WriteLine("|---|---|---|");
            foreach (var (second, rssMb, heapMb) in rss.Timeline)
            {
                Console.WriteLine($"| {second} | {rssMb:0.0} | {(heapMb is { } h ? h.ToString("0.0", CultureInfo.InvariantCulture) : "–")} |");
            }

            Console.WriteLine();
            Console.WriteLine($"Reproduce: `dotnet run -c Release --project bench -- dashboard --soak-seconds {soakSeconds}`.");
            return 0;
        }
        finally
        {
            if (!dashboard.HasExited)
            {
                dashboard.Kill(entireProcessTree: true);
            }

            await dashboard.WaitForExitAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Temp clutter only.
            }
        }
    }

    private static void Populate(SharedDataManager data, StateDirectory state)
    {
        WriteTraining(data, 1);
        data.WriteMarketData(new MarketData
        {
            Symbol = "SYNTH",
            Bars = Enumerable.Range(0, 200).Select(i => new MarketBar(DateTimeOffset.UtcNow.AddMinutes(i - 200), 100, 101, 99, 100, 10)).ToList(),
        });
        state.EnsureServiceDirectory("training");
        data.Store.Write(state.ServiceStatusPath("training"), new ProcessStatus { Name = "training", Status = ServiceState.Running, Pid = 1, LastHeartbeat = DateTimeOffset.UtcNow });
        data.Metrics.AppendRange(Enumerable.Range(0, 5000).Select(i => new MetricRecord { Time = DateTimeOffset.UtcNow.AddSeconds(i - 5000), Kind = "step", Step = i, TrainLoss = 1.0 / (i + 1) }).ToList());
    }

    private static void WriteTraining(SharedDataManager data, int epoch) => data.WriteTrainingStatus(new TrainingStatus
    {
        IsRunning = true,
        State = "running",
        CurrentEpoch = epoch,
        TotalEpochs = 1_000_000,
        Loss = 0.5,
        Heartbeat = DateTimeOffset.UtcNow,
        Progress = epoch,
    });

    private static async Task<List<double>> MeasureLatencyAsync(HttpClient http, SharedDataManager data, int samples)
    {
        await using var stream = await SseStream.OpenAsync(http);
        await stream.NextAsync("training", _ => true, TimeSpan.FromSeconds(30));
        var results = new List<double>(samples);
        for (var i = 0; i < samples + 10; i++)
        {
            var epoch = 1000 + i;
            var clock = Stopwatch.StartNew();
            WriteTraining(data, epoch);
            await stream.NextAsync("training", json => json.Contains($"\"current_epoch\":{epoch},", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            if (i >= 10)
            {
                // The first ten warm up the JIT on both sides.
                results.Add(clock.Elapsed.TotalMilliseconds);
            }

            await Task.Delay(20);
        }

        return results;
    }

    private static async Task<(double PerSecond, double P50, double P95, long Failures)> MeasureLoadAsync(HttpClient http, int seconds, int concurrency)
    {
        // Warm-up.
        for (var i = 0; i < 50; i++)
        {
            using var r = await http.GetAsync("api/status");
        }

        var latencies = new List<double>[concurrency];
        long failures = 0;
        var clock = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            while (clock.Elapsed < end)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync("api/status", HttpCompletionOption.ResponseContentRead);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        var all = latencies.SelectMany(l => l).ToList();
        return (all.Count / clock.Elapsed.TotalSeconds, Percentile(all, 50), Percentile(all, 95), failures);
    }

    private sealed record SoakResult(double AfterWarmup, double End, double Max, long Writes, long MinEventsPerClient, List<(int Second, double RssMb, double? HeapMb)> Timeline);

    private static async Task<SoakResult> MeasureSoakAsync(
        HttpClient http, SharedDataManager data, Process dashboard, int clients, int seconds)
    {
        var streams = new List<SseStream>();
        for (var i = 0; i < clients; i++)
        {
            streams.Add(await SseStream.OpenAsync(http));
        }

        var clock = Stopwatch.StartNew();
        double afterWarmup = 0, max = 0, last = 0;
        var epoch = 5_000_000;
        long writes = 0;
        var timeline = new List<(int, double, double?)>();
        var nextSample = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            WriteTraining(data, epoch++);
            writes++;
            data.Metrics.Append(new MetricRecord { Time = DateTimeOffset.UtcNow, Kind = "step", Step = epoch, TrainLoss = 0.1 });
            await Task.Delay(1000);
            last = RssMb(dashboard.Id);
            max = Math.Max(max, last);
            if (afterWarmup == 0 && clock.Elapsed >= TimeSpan.FromSeconds(10))
            {
                afterWarmup = last;
            }

            if (clock.Elapsed.TotalSeconds >= nextSample)
            {
                // The dashboard reports its managed heap in dashboard_state.json: heap flat while RSS moves is the
                // runtime's pools and code, not a leak in the dashboard.
                var heap = data.ReadDashboardState().Document?.PerformanceMetrics.GetValueOrDefault("managed_heap_mb");
                timeline.Add(((int)clock.Elapsed.TotalSeconds, last, heap));
                nextSample += Math.Max(10, seconds / 10);
            }
        }

        // Let the last pushes arrive before counting.
        await Task.Delay(500);
        var minEvents = streams.Min(s => s.Received("training"));
        foreach (var stream in streams)
        {
            await stream.DisposeAsync();
        }

        return new SoakResult(afterWarmup == 0 ? last : afterWarmup, last, max, writes, minEvents, timeline);
    }

    private static double RssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }

        return double.NaN;
    }

    private static Process Start(string dll, string root)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--state-dir", root, "--port", "0", "--rate-limit", "0", "--max-stream-clients", "64" })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the dashboard");
    }

    private static async Task<string> WaitForUrlAsync(Process dashboard)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await dashboard.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            var at = line.IndexOf("serving http", StringComparison.Ordinal);
            if (at >= 0)
            {
                // Keep draining stdout so the dashboard never blocks on a full pipe.
                _ = dashboard.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                _ = dashboard.StandardError.BaseStream.CopyToAsync(Stream.Null);
                return line[(at + "serving ".Length)..].Split(' ')[0];
            }
        }

        throw new InvalidOperationException("the dashboard exited before serving: " + await dashboard.StandardError.ReadToEndAsync());
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? OptionText(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>A minimal SSE reader (event/data lines, blank line dispatches), reading in the background.</summary>
    private sealed class SseStream : IAsyncDisposable
    {
        private readonly Channel<(string Type, string Data)> _events = Channel.CreateBounded<(string, string)>(
            new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
        private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stop = new();
        private readonly HttpResponseMessage _response;
        private readonly Task _reader;

        private SseStream(HttpResponseMessage response)
        {
            _response = response;
            _reader = Task.Run(ReadAsync);
        }

        public static async Task<SseStream> OpenAsync(HttpClient http)
        {
            var response = await http.GetAsync("api/stream", HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            return new SseStream(response);
        }

        public long Received(string type)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(type);
            }
        }

        public async Task NextAsync(string type, Func<string, bool> match, TimeSpan timeout)
        {
            using var deadline = new CancellationTokenSource(timeout);
            while (true)
            {
                var (eventType, data) = await _events.Reader.ReadAsync(deadline.Token);
                if (eventType == type && match(data))
                {
                    return;
                }
            }
        }

        private async Task ReadAsync()
        {
            try
            {
                using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
                string type = "message", data = "";
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.Length == 0)
                    {
                        lock (_counts)
                        {
                            _counts[type] = _counts.GetValueOrDefault(type) + 1;
                        }

                        _events.Writer.TryWrite((type, data));
                        type = "message";
                        data = "";
                    }
                    else if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        type = line[7..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        data = line[6..];
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                // Stopped.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            await _reader;
            _stop.Dispose();
        }
    }
}
