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
/// generator (with the token), the dashboard's RSS while 20 SSE clients stay connected and the trainer keeps writing,
/// and its RSS under 60 stream clients that never read with a 3.6 MB market document (issue #14), optionally against a
/// baseline build too.
/// </summary>
/// <remarks>
/// Options: <c>--samples N</c> (latency samples, default 200), <c>--load-seconds N</c> (default 5),
/// <c>--concurrency N</c> (default 16), <c>--soak-seconds N</c> (default 60; the issue asks for 600),
/// <c>--clients N</c> (default 20), <c>--slow-clients N</c> (default 60), <c>--slow-seconds N</c> (default 30),
/// <c>--dashboard PATH</c> (a built stability-dashboard.dll), <c>--baseline PATH</c> (another build, measured under the
/// slow readers too).
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
        var slowClients = Option(args, "--slow-clients", 60);
        var slowSeconds = Option(args, "--slow-seconds", 30);
        var baseline = OptionText(args, "--baseline");
        var dll = OptionText(args, "--dashboard") ?? typeof(DashboardBench).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "DashboardPath").Value!;

        var slow = await RunWithDashboardAsync(dll, (http, data, state, dashboard, token) => MeasureSlowClientsAsync(http, data, state, dashboard, token, slowClients, slowSeconds));
        var before = baseline is null ? null
            : await RunWithDashboardAsync(baseline, (http, data, state, dashboard, token) => MeasureSlowClientsAsync(http, data, state, dashboard, token, slowClients, slowSeconds));
        var (latency, load, rss) = await RunWithDashboardAsync(dll, async (http, data, _, dashboard, _) =>
            (await MeasureLatencyAsync(http, data, samples), await MeasureLoadAsync(http, loadSeconds, concurrency), await MeasureSoakAsync(http, data, dashboard, clients, soakSeconds)));

        Console.WriteLine(BenchReport.Header("Dashboard (`stability-bench dashboard`)"));
        Console.WriteLine($"Load average {LoadAverage()} at the end; the real stability-dashboard process on 127.0.0.1, token on (every request sends " +
                          "`Authorization: Bearer`), rate limit off (`--rate-limit 0`), file-system watch on.");
        Console.WriteLine();
        Console.WriteLine("| figure | value | goal |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| file write → SSE `training` event, p50 ({latency.Count} samples) | {Percentile(latency, 50):0.0} ms | ≤ 5 ms |");
        Console.WriteLine($"| file write → SSE `training` event, p95 | {Percentile(latency, 95):0.0} ms | ≤ 15 ms |");
        Console.WriteLine($"| file write → SSE `training` event, max | {latency.Max():0.0} ms | |");
        Console.WriteLine($"| `/api/status` requests/s with the token ({concurrency} concurrent clients, {loadSeconds} s) | {load.PerSecond:0} | |");
        Console.WriteLine($"| `/api/status` latency under that load, p50 / p95 | {load.P50:0.0} / {load.P95:0.0} ms | |");
        Console.WriteLine($"| `/api/status` non-200 answers | {load.Failures} | 0 |");
        Console.WriteLine($"| RSS with {clients} SSE clients, after 10 s warm-up | {rss.AfterWarmup:0.0} MB | |");
        Console.WriteLine($"| RSS with {clients} SSE clients, at the end of a {soakSeconds} s soak (1 training write/s) | {rss.End:0.0} MB | no growth |");
        Console.WriteLine($"| RSS max during the soak | {rss.Max:0.0} MB | |");
        Console.WriteLine($"| `training` SSE events received per client during the soak (min) / training writes | {rss.MinEventsPerClient} / {rss.Writes} | all (pushes coalesce only when writes overlap) |");
        Console.WriteLine();
        Console.WriteLine($"Slow readers: a {slow.MarketMb:0.0} MB `market_data.json`, {slowClients} clients that open `/api/stream` and never read (4 KiB receive buffer, " +
                          $"all reopened every 10 s), for {slowSeconds} s; a training write every 500 ms and one reading stream client; market rewritten every 5 s.");
        Console.WriteLine();
        Console.WriteLine("| dashboard | RSS before the load | RSS max under it | RSS at its end | RSS 5 s after | reader: training writes seen / made | `/healthz` under load, max |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        if (before is not null)
        {
            Console.WriteLine(SlowRow($"before (`{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(baseline!)))}`)", before));
        }

        Console.WriteLine(SlowRow("this build", slow));
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
        Console.WriteLine($"Reproduce: `dotnet build -c Release bench && dotnet bench/bin/Release/net10.0/stability-bench.dll dashboard --soak-seconds {soakSeconds}" +
                          (baseline is null ? "" : " --baseline BEFORE/stability-dashboard.dll") + "` (the baseline: `git worktree add /tmp/before 25a4f05 && dotnet build -c Release /tmp/before/src/Dashboard`, then `/tmp/before/src/Dashboard/bin/Release/net10.0/stability-dashboard.dll`).");
        return 0;
    }

    private static string SlowRow(string name, SlowResult r) =>
        $"| {name} | {r.RssBefore:0} MB | {r.RssMax:0} MB | {r.RssEnd:0} MB | {r.RssAfter:0} MB | {r.Seen} / {r.Writes} | {(r.HealthMaxMs is { } h ? $"{h:0} ms" : "no answer")} |";

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    /// <summary>Starts <paramref name="dll"/> on a fresh populated state directory with a token, runs <paramref name="measure"/>, stops it.</summary>
    private static async Task<T> RunWithDashboardAsync<T>(string dll, Func<HttpClient, SharedDataManager, StateDirectory, Process, string, Task<T>> measure)
    {
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-dash-{Guid.NewGuid():N}"[..26]);
        var state = StateDirectory.Open(root);
        // The trainer's writers with fsync off: this measures the dashboard's pipeline, not the disk.
        var data = new SharedDataManager(state, new StatusStoreOptions { Fsync = false }, run: state.EnsureRun("run-bench"));
        Populate(data, state);
        // A token file both this build and older ones read (--token-file): every request is authenticated.
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var tokenFile = Path.Combine(root, "bench.token");
        File.WriteAllText(tokenFile, token);

        using var dashboard = Start(dll, root, tokenFile);
        try
        {
            var url = await WaitForUrlAsync(dashboard);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                BaseAddress = new Uri(url + "/"),
                Timeout = TimeSpan.FromSeconds(30),
                DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token) },
            };
            return await measure(http, data, state, dashboard, token);
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

    private sealed record SlowResult(double MarketMb, double RssBefore, double RssMax, double RssEnd, double RssAfter, int Seen, int Writes, double? HealthMaxMs);

    /// <summary>Hostile slow readers (issue #14): non-reading stream clients and a market document near the 4 MiB cap.</summary>
    private static async Task<SlowResult> MeasureSlowClientsAsync(HttpClient http, SharedDataManager data, StateDirectory state, Process dashboard, string token, int clients, int seconds)
    {
        var market = new MarketData
        {
            Symbol = "SYNTH",
            Source = "synthetic",
            Bars = Enumerable.Range(0, 18_000).Select(i => new MarketBar(DateTimeOffset.UtcNow.AddMinutes(i - 18_000), 100.123456 + i, 101.123456 + i, 99.123456 + i, 100.523456 + i, 1000 + i)).ToList(),
            Predictions = Enumerable.Range(0, 18_000).Select(i => new MarketPrediction(DateTimeOffset.UtcNow.AddMinutes(i - 18_000), 0.5 + (i % 10) / 100.0, i % 3 - 1)).ToList(),
        };
        data.WriteMarketData(market);
        var marketMb = new FileInfo(data.Run!.MarketDataPath).Length / 1048576.0;
        var port = http.BaseAddress!.Port;
        await using var reader = await SseStream.OpenAsync(http);
        await reader.NextAsync("market", _ => true, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        var rssBefore = RssMb(dashboard.Id);

        var written = new List<int>();
        var hostile = new List<System.Net.Sockets.Socket>();
        double rssMax = rssBefore;
        double? healthMax = 0;
        var clock = Stopwatch.StartNew();
        var wave = 0;
        var lastMarket = TimeSpan.Zero;
        var epoch = 7_000_000;
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                if (clock.Elapsed >= TimeSpan.FromSeconds(10 * wave))
                {
                    wave++;
                    hostile.ForEach(h => h.Dispose());
                    hostile.Clear();
                    for (var i = 0; i < clients; i++)
                    {
                        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                        hostile.Add(socket);
                        try
                        {
                            using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, connect.Token);
                            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"), connect.Token);
                        }
                        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
                        {
                            // Refused or too slow: a bounded dashboard may do that to an attacker.
                        }
                    }
                }

                if (clock.Elapsed - lastMarket >= TimeSpan.FromSeconds(5))
                {
                    lastMarket = clock.Elapsed;
                    data.WriteMarketData(market with { Symbol = "SYNTH" + wave });
                }

                WriteTraining(data, ++epoch);
                written.Add(epoch);
                if (healthMax is not null && written.Count % 4 == 0)
                {
                    healthMax = await ProbeHealthAsync(port) is { } ms ? Math.Max(healthMax.Value, ms) : null;
                }

                rssMax = Math.Max(rssMax, RssMb(dashboard.Id));
                await Task.Delay(500);
                rssMax = Math.Max(rssMax, RssMb(dashboard.Id));
            }
        }
        finally
        {
            hostile.ForEach(h => h.Dispose());
        }

        var rssEnd = RssMb(dashboard.Id);
        await Task.Delay(5000);
        var rssAfter = RssMb(dashboard.Id);
        var seen = reader.Seen("training", written.Select(e => $"\"current_epoch\":{e},"));
        return new SlowResult(marketMb, rssBefore, rssMax, rssEnd, rssAfter, seen, written.Count, healthMax);
    }

    /// <summary>What the supervisor's probe sees: a fresh connection with a 1 s timeout; null when it got no answer.</summary>
    private static async Task<double?> ProbeHealthAsync(int port)
    {
        using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(1) };
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await probe.GetAsync($"http://127.0.0.1:{port}/healthz");
            return response.IsSuccessStatusCode ? clock.Elapsed.TotalMilliseconds : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
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
        data.Metrics.AppendRange(Enumerable.Range(0, 5000).Select(i => new MetricRecord { Time = DateTimeOffset.UtcNow.AddSeconds(i - 5000), Kind = MetricKind.Step, Step = i, TrainLoss = 1.0 / (i + 1) }).ToList());
    }

    internal static void WriteTraining(SharedDataManager data, int epoch) => data.WriteTrainingStatus(new TrainingStatus
    {
        IsRunning = true,
        State = TrainerState.Running,
        CurrentEpoch = epoch,
        TotalEpochs = 1_000_000,
        Loss = 0.5,
        Heartbeat = DateTimeOffset.UtcNow,
        Progress = epoch,
    });

    internal static async Task<List<double>> MeasureLatencyAsync(HttpClient http, SharedDataManager data, int samples)
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
            data.Metrics.Append(new MetricRecord { Time = DateTimeOffset.UtcNow, Kind = MetricKind.Step, Step = epoch, TrainLoss = 0.1 });
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

    internal static double RssMb(int pid)
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

    internal static Process Start(string dll, string root, string tokenFile)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--state-dir", root, "--port", "0", "--rate-limit", "0", "--max-stream-clients", "64", "--token-file", tokenFile })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the dashboard");
    }

    internal static async Task<string> WaitForUrlAsync(Process dashboard)
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

    internal static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    internal static string? OptionText(string[] args, string name)
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
        private readonly List<string> _training = [];
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

        /// <summary>How many of <paramref name="markers"/> appear in some <paramref name="type"/> event received (training only).</summary>
        public int Seen(string type, IEnumerable<string> markers)
        {
            lock (_training)
            {
                return markers.Count(m => _training.Any(d => d.Contains(m, StringComparison.Ordinal)));
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
                        if (type == "training")
                        {
                            lock (_training)
                            {
                                _training.Add(data);
                            }
                        }
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
