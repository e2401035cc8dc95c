using System.Diagnostics;
using System.Globalization;

namespace StabilityTools.Bench.Isolation;

/// <summary>
/// Sustained load on a dashboard until a stop file appears: HTTP clients looping on <c>/api/status</c> and SSE
/// clients holding <c>/api/stream</c> open and reading every event, and one prober timing <c>/healthz</c> every 250 ms
/// on a fresh connection (as the supervisor's health probe does). Prints, on its last line, the 200 responses per second,
/// then the /healthz latency median, p95 and max in ms (a probe with no answer within 5 s counts as 5000).
/// </summary>
internal static class LoadGenerator
{
    public static async Task<int> RunAsync(string[] args)
    {
        var url = Get(args, "--url").TrimEnd('/');
        var httpClients = int.Parse(Get(args, "--http-clients"), CultureInfo.InvariantCulture);
        var sseClients = int.Parse(Get(args, "--sse-clients"), CultureInfo.InvariantCulture);
        var stopFile = Get(args, "--stop-file");
        using var stop = new CancellationTokenSource();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = httpClients + sseClients + 4 }) { Timeout = Timeout.InfiniteTimeSpan };
        long ok = 0;
        var clock = Stopwatch.StartNew();
        var tasks = new List<Task>();
        for (var i = 0; i < sseClients; i++)
        {
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await http.GetAsync($"{url}/api/stream", HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    await using var body = await response.Content.ReadAsStreamAsync(stop.Token);
                    var buffer = new byte[8192];
                    while (await body.ReadAsync(buffer, stop.Token) > 0)
                    {
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
                {
                    // Stopping, or the server went away.
                }
            }));
        }

        var healthz = new List<double>();
        tasks.Add(Task.Run(async () =>
        {
            using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/healthz") { Headers = { ConnectionClose = true } };
                    using var response = await probe.SendAsync(request, stop.Token);
                    healthz.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !stop.IsCancellationRequested))
                {
                    healthz.Add(5000);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                try
                {
                    await Task.Delay(250, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }));

        for (var i = 0; i < httpClients; i++)
        {
            tasks.Add(Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var response = await http.GetAsync($"{url}/api/status", stop.Token);
                        await response.Content.LoadIntoBufferAsync(stop.Token);
                        if (response.IsSuccessStatusCode)
                        {
                            Interlocked.Increment(ref ok);
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
                    {
                        // Keep the pressure on.
                    }
                }
            }));
        }

        while (!File.Exists(stopFile))
        {
            await Task.Delay(100);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        var sorted = healthz.Order().ToList();
        double At(double p) => sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
        Console.Out.WriteLine(string.Join(' ', new[] { Interlocked.Read(ref ok) / seconds, At(0.5), At(0.95), sorted.Count == 0 ? double.NaN : sorted[^1] }
            .Select(v => v.ToString("0.0", CultureInfo.InvariantCulture))));
        return 0;
    }

    private static string Get(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} is required");
    }
}
