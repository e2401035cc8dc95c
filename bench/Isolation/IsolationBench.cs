using System.Diagnostics;
using System.Globalization;
using System.Text;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Bench.Isolation;

/// <summary>
/// The product's central promise, measured (issues #6, #16): trainer throughput (a) alone, (b) with the dashboard under
/// sustained HTTP load and 20 SSE clients as the product runs it (the dashboard spec under the built supervisor:
/// SCHED_IDLE through `chrt --idle 0`, with the floor that lifts it while /healthz answers slowly), (n) the same at the previous default (nice 10), (c) the same with the dashboard at normal
/// priority, and (d) the design this product replaces: the dashboard hosted inside the trainer process. The phases run
/// interleaved, round after round, so that drift in the machine's load hits all alike. While the load runs, /healthz is
/// timed every 250 ms on a fresh connection.
/// Usage: <c>stability-bench isolation [--rounds 5] [--epochs 4] [--bars 40000] [--http-clients 8] [--sse-clients 20]</c>.
/// </summary>
internal static class IsolationBench
{
    private static readonly string[] Phases = ["a", "b", "n", "c", "d"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["host", .. var hostArgs])
        {
            return await HostAsync(hostArgs);
        }

        if (args is ["load", .. var loadArgs])
        {
            return await LoadGenerator.RunAsync(loadArgs);
        }

        var rounds = Option(args, "--rounds", 5);
        var epochs = Option(args, "--epochs", 4);
        var bars = Option(args, "--bars", 40_000);
        var httpClients = Option(args, "--http-clients", 8);
        var sseClients = Option(args, "--sse-clients", 20);
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-isolation-{Environment.ProcessId}");
        var config = Path.Combine(root, "trainer.json");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(config, $$"""
            { "data": { "bars": {{bars}} }, "training": { "epochs": {{epochs}} } }
            """);
        var results = Phases.ToDictionary(p => p, _ => new List<PhaseResult>());
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var phase in Phases)
                {
                    var result = await RunPhaseAsync(phase, Path.Combine(root, $"{phase}-{round}"), config, httpClients, sseClients);
                    results[phase].Add(result);
                    Console.Error.WriteLine($"round {round} phase {phase}: {result.SamplesPerSec:N0} samples/s, {result.RequestsPerSec:N0} requests/s, /healthz p50 {result.HealthzP50Ms:0.0} ms, max {result.HealthzMaxMs:0.0} ms");
                }
            }

            Console.Write(Report(results, rounds, epochs, bars, httpClients, sseClients));
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Temp leftovers are harmless.
            }
        }
    }

    private static string Report(Dictionary<string, List<PhaseResult>> results, int rounds, int epochs, int bars, int httpClients, int sseClients)
    {
        var alone = BenchReport.Median(results["a"].Select(r => r.SamplesPerSec));
        var text = new StringBuilder(BenchReport.Header("Isolation (`stability-bench isolation`)"));
        text.AppendLine();
        text.AppendLine(Invariant($"The default trainer (MLP) on {bars:N0} synthetic bars, {epochs} epochs, threads from the cores; samples/s is the median of its own per-epoch figures (epoch 1 left out), then the median over {rounds} interleaved rounds. Load: {httpClients} HTTP clients looping on `/api/status` and {sseClients} SSE clients on `/api/stream`, from a separate process at nice 10 (standing for remote clients rather than a third local job); dashboard rate limit off, so every request is served."));
        text.AppendLine();
        text.AppendLine("| phase | trainer samples/s | ratio to (a) | dashboard requests/s served | /healthz p50 / p95 / max, ms | |");
        text.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var (phase, label) in new[]
                 {
                     ("a", "(a) trainer alone"),
                     ("b", "(b) + dashboard under load, product default (own process, SCHED_IDLE)"),
                     ("n", "(n) + dashboard under load, previous default (own process, nice 10)"),
                     ("c", "(c) + dashboard under load, own process at normal priority"),
                     ("d", "(d) + dashboard hosted inside the trainer process (the design replaced)"),
                 })
        {
            var sps = BenchReport.Median(results[phase].Select(r => r.SamplesPerSec));
            var rps = BenchReport.Median(results[phase].Select(r => r.RequestsPerSec));
            var p50 = BenchReport.Median(results[phase].Select(r => r.HealthzP50Ms));
            var p95 = BenchReport.Median(results[phase].Select(r => r.HealthzP95Ms));
            var max = results[phase].Max(r => r.HealthzMaxMs);
            var goal = phase == "b"
                ? (sps / alone >= 0.98 && rps >= 100 && max <= 1000 ? "goal ≥ 0.98, ≥ 100 requests/s, /healthz ≤ 1 s: met" : "goal ≥ 0.98, ≥ 100 requests/s, /healthz ≤ 1 s: not met")
                : "";
            var latency = phase == "a" ? "–" : Invariant($"{p50:0.0} / {p95:0.0} / {max:0.0}");
            text.AppendLine(Invariant($"| {label} | {sps:N0} | {sps / alone:0.00} | {(phase == "a" ? "–" : rps.ToString("N0", CultureInfo.InvariantCulture))} | {latency} | {goal} |"));
        }

        text.AppendLine();
        text.AppendLine("Per round (samples/s): " + string.Join("; ", Phases.Select(p => $"{p}: {string.Join(", ", results[p].Select(r => r.SamplesPerSec.ToString("N0", CultureInfo.InvariantCulture)))}")) + ".");
        text.AppendLine();
        text.AppendLine(Invariant($"The floor lifted the supervised dashboard (b) to the normal policy {results["b"].Sum(r => r.FloorLifts)} times over {rounds} rounds (events `cpu_floor`)."));
        text.AppendLine();
        text.AppendLine("Per round (requests/s): " + string.Join("; ", Phases.Where(p => p != "a").Select(p => $"{p}: {string.Join(", ", results[p].Select(r => r.RequestsPerSec.ToString("N0", CultureInfo.InvariantCulture)))}")) + ".");
        text.AppendLine();
        text.AppendLine("Reproduce: `dotnet pwsh ./build.ps1 Bench -Suite isolation` (or `dotnet artifacts/bench/stability-bench.dll isolation --rounds 5`).");
        return text.ToString();
    }

    private static async Task<PhaseResult> RunPhaseAsync(string phase, string state, string config, int httpClients, int sseClients)
    {
        Directory.CreateDirectory(state);
        var stopFile = Path.Combine(state, "stop-load");
        Process? dashboard = null;
        ProcessManager? supervised = null;
        Process? load = null;
        Process trainer;
        try
        {
            string? url = null;
            if (phase == "b")
            {
                // The product's default: the dashboard's own spec under the real supervisor, so SCHED_IDLE and its
                // floor (lifted while /healthz answers slowly) are what a user gets.
                (supervised, url) = await StartSupervisedDashboardAsync(state);
                trainer = Start(0, TrainerDll, "--state-dir", state, "--config", config);
            }
            else if (phase is "n" or "c")
            {
                dashboard = Start(phase == "c" ? 0 : 10, DashboardDll, "--state-dir", state, "--port", "0", "--rate-limit", "0", "--max-stream-clients", "64", "--no-auth");
                url = await ReadServedUrlAsync(dashboard);
                trainer = Start(0, TrainerDll, "--state-dir", state, "--config", config);
            }
            else if (phase == "d")
            {
                trainer = Start(0, typeof(IsolationBench).Assembly.Location, "isolation", "host", "--state-dir", state, "--config", config);
                url = await ReadServedUrlAsync(trainer);
            }
            else
            {
                trainer = Start(0, TrainerDll, "--state-dir", state, "--config", config);
            }

            if (url is not null)
            {
                load = Start(10, typeof(IsolationBench).Assembly.Location, "isolation", "load", "--url", url,
                    "--http-clients", Str(httpClients), "--sse-clients", Str(sseClients), "--stop-file", stopFile);
            }

            _ = trainer.StandardError.ReadToEndAsync();
            // In (d) the served-URL reader already drains the trainer's stdout.
            var trainerOut = phase == "d" ? Task.FromResult("") : trainer.StandardOutput.ReadToEndAsync();
            await trainer.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
            await trainerOut;
            if (trainer.ExitCode != 0)
            {
                throw new InvalidOperationException($"phase {phase}: the trainer exited with {trainer.ExitCode}");
            }

            double requestsPerSec = 0, p50 = double.NaN, p95 = double.NaN, max = double.NaN;
            if (load is not null)
            {
                await File.WriteAllTextAsync(stopFile, "stop");
                var output = await load.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
                await load.WaitForExitAsync();
                var figures = output.Trim().Split('\n')[^1].Split(' ').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                (requestsPerSec, p50, p95, max) = (figures[0], figures[1], figures[2], figures[3]);
            }

            var located = StateDirectory.Locate(state);
            var epochs = new JsonLinesLog<MetricRecord>(located.Run(located.ListRunIds().Single()).MetricsLogPath).ReadAll().Records
                .Where(r => r.Kind == MetricKind.Epoch && r.SamplesPerSec is > 0)
                .OrderBy(r => r.Epoch)
                .Skip(1)
                .Select(r => r.SamplesPerSec!.Value)
                .ToList();
            if (epochs.Count == 0)
            {
                throw new InvalidOperationException($"phase {phase}: no epoch records after the first");
            }

            var lifts = supervised?.GetEvents(SupervisedName, type: "cpu_floor").Count(e => e.Data?["policy"] == "normal") ?? 0;
            return new PhaseResult(BenchReport.Median(epochs), requestsPerSec, p50, p95, max, lifts);
        }
        finally
        {
            if (supervised is not null)
            {
                await supervised.StopAsync(SupervisedName, force: true);
            }

            foreach (var p in new[] { load, dashboard })
            {
                if (p is { HasExited: false })
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }
            }
        }
    }

    /// <summary>The baseline (d): one process that trains and serves the dashboard, as the replaced design did.</summary>
    private static async Task<int> HostAsync(string[] args)
    {
        var stateDir = Value(args, "--state-dir");
        var options = TrainerConfigLoader.Load(Value(args, "--config"));
        var state = StateDirectory.Open(stateDir);
        // The load generator stands for remote clients without a token: this measures isolation, not authentication.
        var app = DashboardApp.Build(new DashboardOptions { StateDirectory = stateDir, Port = 0, RateLimitPerSecond = 0, MaxStreamClients = 64, NoAuthentication = true });
        await app.StartAsync();
        Console.Out.WriteLine($"stability-dashboard: serving {DashboardApp.ServedUrl(app)} from {stateDir}");
        Console.Out.Flush();
        var outcome = await Task.Run(() => TrainingSession.Run(options, state, CancellationToken.None));
        await app.StopAsync();
        return outcome.History.Count > 0 ? 0 : 1;
    }

    private static async Task<string> ReadServedUrlAsync(Process process)
    {
        while (await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
        {
            var at = line.IndexOf("serving ", StringComparison.Ordinal);
            if (at >= 0)
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return line[(at + 8)..].Split(' ')[0];
            }
        }

        throw new InvalidOperationException($"the dashboard ended before serving: {await process.StandardError.ReadToEndAsync()}");
    }

    private static Process Start(int nice, string dll, params string[] arguments)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(nice != 0 ? "nice" : dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (nice != 0)
        {
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(Str(nice));

            info.ArgumentList.Add(dotnet);
        }

        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {dll}");
    }

    private static string TrainerDll => Metadata("TrainerPath");

    private static string DashboardDll => Metadata("DashboardPath");

    private static string Metadata(string key) => Path.GetFullPath(typeof(IsolationBench).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!);


    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} is required");
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record PhaseResult(double SamplesPerSec, double RequestsPerSec, double HealthzP50Ms, double HealthzP95Ms, double HealthzMaxMs, int FloorLifts);

    private const string SupervisedName = "bench-dashboard";

    /// <summary>The dashboard as <c>Start-Dashboard</c> runs it: <see cref="ServiceSpec.ForKind"/>'s dashboard spec, under the built supervisor.</summary>
    private static async Task<(ProcessManager Manager, string Url)> StartSupervisedDashboardAsync(string stateDir)
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var url = $"http://127.0.0.1:{Str(port)}";
        var manager = new ProcessManager(StateDirectory.Open(stateDir), new LocalLauncher(Supervisor.SupervisorBench.FindSupervisor()));
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath ?? "dotnet";
        var spec = ServiceSpec.ForKind(ServiceKind.Dashboard, SupervisedName, dotnet,
            [DashboardDll, "--state-dir", stateDir, "--port", Str(port), "--rate-limit", "0", "--max-stream-clients", "64", "--no-auth"]) with
        {
            HealthUrl = url + "/healthz", Port = port,
        };
        await manager.StartAsync(spec);
        return (manager, url);
    }
}
