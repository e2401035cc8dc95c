using System.Diagnostics;
using System.Globalization;
using System.Text;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Bench.Supervisor;

/// <summary>
/// Issue #16: what idle supervisors cost, this build against another (today's main), interleaved in one sitting so
/// the shared machine's drift hits both alike. Per round and build: 10 <c>/bin/sleep</c> services, their supervisors'
/// CPU over the idle window (summed: what supervising 10 services costs), PSS and RSS summed over the 10, then the
/// crash → restart median over SIGKILLs of one service. Issue #24: the state directory has an alert rule for every
/// service on the event triggers (alerts.json, as a site with alerting would), unless <c>--no-alerts</c>; each live service's
/// supervisor appends its system_metrics.jsonl every heartbeat, which a build with the history always does.
/// Usage: <c>stability-bench supervisor-idle --baseline PATH [--supervisor PATH] [--rounds 2] [--idle-seconds 60] [--kills 15] [--services 10] [--no-alerts]</c>
/// (<c>--baseline</c> defaults to <c>STABILITY_BENCH_BASELINE</c>, so that <c>build.ps1 Bench -Suite supervisor-idle</c> can pass it).
/// </summary>
internal static class IdleComparisonBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int Number(string name, int fallback) => int.Parse(Option(name) ?? fallback.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var baseline = Option("baseline") ?? Environment.GetEnvironmentVariable("STABILITY_BENCH_BASELINE")
            ?? throw new ArgumentException("--baseline PATH (another build's stability-supervisor), or STABILITY_BENCH_BASELINE, is required");
        var current = Option("supervisor") ?? SupervisorBench.FindSupervisor();
        var rounds = Number("rounds", 2);
        var idleSeconds = Number("idle-seconds", 60);
        var kills = Number("kills", 15);
        var services = Number("services", 10);
        var alerts = !args.Contains("--no-alerts");
        var builds = new[] { ("baseline", baseline), ("this build", current) };
        var results = builds.ToDictionary(b => b.Item1, _ => new List<Round>());
        for (var round = 1; round <= rounds; round++)
        {
            // Alternate which build goes first, so neither always meets the quieter half of a round.
            foreach (var (label, path) in round % 2 == 1 ? builds : builds.Reverse())
            {
                var result = await MeasureAsync(path, idleSeconds, kills, services, alerts);
                results[label].Add(result);
                Console.Error.WriteLine(Invariant($"round {round} {label}: idle CPU {result.IdleCpuPercent:0.000} %, PSS {result.PssMb:0.0} MB, RSS {result.RssMb:0.0} MB, restart {result.RestartMs:0.0} ms"));
            }
        }

        var append = MeasureHistoryAppend(6000);
        Console.Write(Report(results, builds, rounds, idleSeconds, kills, services, alerts, append));
        return 0;
    }

    private static async Task<Round> MeasureAsync(string supervisor, int idleSeconds, int kills, int services, bool alerts)
    {
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-idle-{Guid.NewGuid():N}"[..24]);
        var state = StateDirectory.Open(root);
        if (alerts)
        {
            // The event triggers for every service: each supervisor loads the rules and keeps them watched, as a site's
            // would. Nothing fires while the services idle (nor at the crash bench's 15 restarts); the command would only
            // run if something did.
            new AlertBook(state).Set(new AlertRule
            {
                Name = "bench",
                Scope = AlertRule.AllServices,
                On = [AlertTrigger.Fatal, AlertTrigger.HangDetected, AlertTrigger.LimitExceeded, AlertTrigger.Restart, AlertTrigger.LossNotFinite],
                Command = ["/bin/true"],
                RestartsPerHour = 100_000,
            });
        }

        var manager = new ProcessManager(state, new LocalLauncher(supervisor));
        var sleep = ExecutableResolver.Resolve("sleep") ?? "/bin/sleep";
        try
        {
            await Task.WhenAll(Enumerable.Range(1, services).Select(n =>
                manager.StartAsync(ServiceSpec.ForKind(ServiceKind.Program, $"svc{n:00}", sleep, ["3600"]))));
            var pids = manager.GetStatuses().Where(s => s.State == ServiceState.Running).Select(s => s.SupervisorPid).ToList();
            if (pids.Count != services)
            {
                throw new InvalidOperationException($"{pids.Count} of {services} services are running.");
            }

            // Settle past the start (first samples, grace timers), then measure the idle window.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var before = pids.Sum(p => ProcessTable.Read(p)?.CpuTicks ?? 0);
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            var after = pids.Sum(p => ProcessTable.Read(p)?.CpuTicks ?? 0);
            var idleCpu = (after - before) * 100.0 / ProcessTable.TicksPerSecond / clock.Elapsed.TotalSeconds;
            var pss = pids.Sum(p => MemoryMb(p, "smaps_rollup", "Pss:"));
            var rss = pids.Sum(p => MemoryMb(p, "status", "VmRSS:"));
            foreach (var name in manager.ListServices())
            {
                await manager.StopAsync(name, force: true);
            }

            return new Round(idleCpu, pss, rss, await RestartMedianAsync(manager, state, sleep, kills));
        }
        finally
        {
            foreach (var info in manager.GetStatuses())
            {
                if (info.SupervisorPid > 0 && !Liveness.IsFinal(info.State))
                {
                    Native.Signal(info.SupervisorPid, Native.SIGKILL);
                }
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Left in /tmp; harmless.
            }
        }
    }

    /// <summary>SIGKILL the service, time until status.json shows the new pid (as <see cref="SupervisorBench"/> does).</summary>
    private static async Task<double> RestartMedianAsync(ProcessManager manager, StateDirectory state, string sleep, int kills)
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "crashy", sleep, ["3600"]) with
        {
            RestartPolicy = RestartPolicy.Always, StartupGraceMs = 0, BackoffResetAfterMs = 1, CircuitMaxRestarts = 1_000_000,
        };
        await manager.StartAsync(spec);
        var store = new StatusStore();
        var path = state.ServiceStatusPath("crashy");
        var times = new List<double>();
        for (var i = 0; i < kills; i++)
        {
            var before = store.Read<ProcessStatus>(path).GetDocumentOrThrow().Pid;
            var clock = Stopwatch.StartNew();
            Native.Signal(before, Native.SIGKILL);
            while ((store.Read<ProcessStatus>(path).Document?.Pid ?? 0) is var pid && (pid == 0 || pid == before))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException($"No restart within 10 s after kill {i + 1}.");
                }

                Thread.SpinWait(100);
            }

            times.Add(clock.Elapsed.TotalMilliseconds);
            await Task.Delay(150);
        }

        await manager.StopAsync("crashy", force: true);
        return BenchReport.Median(times);
    }

    /// <summary>
    /// Issue #24: what the heartbeat's history append costs with this build's engine, in this process (JIT-compiled,
    /// warmed up first): wall time of each of <paramref name="count"/> appends to one file at the default bound, the
    /// compactions they cause included, and the process's CPU time over them. The idle rounds above are too noisy on a
    /// shared machine to show a cost this small; this shows it directly.
    /// </summary>
    private static AppendCost MeasureHistoryAppend(int count)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"st-bench-hist-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(dir);
        try
        {
            SystemMetricsPoint Point(int i) => new()
            {
                Time = DateTimeOffset.UtcNow, Pid = 123456, CpuPercent = 0.02 * (i % 7), CpuMaxPercent = 0.02 * (i % 7), MemoryMb = 0.53, MemoryMaxMb = 0.53,
            };
            var warm = new SystemMetricsHistory(Path.Combine(dir, "warm.jsonl"), maxPoints: 64);
            for (var i = 0; i < 500; i++)
            {
                warm.Append(Point(i));
            }

            var history = new SystemMetricsHistory(Path.Combine(dir, SystemMetricsHistory.FileName));
            var times = new List<double>(count);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < count; i++)
            {
                var start = Stopwatch.GetTimestamp();
                history.Append(Point(i));
                times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            var cpuPerAppend = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
            times.Sort();
            return new AppendCost(count, BenchReport.Percentile(times, 50), BenchReport.Percentile(times, 99), times[^1], cpuPerAppend, new FileInfo(history.Path).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Report(Dictionary<string, List<Round>> results, (string, string)[] builds, int rounds, int idleSeconds, int kills, int services, bool alerts, AppendCost append)
    {
        var text = new StringBuilder(BenchReport.Header("Idle supervisors, this build against a baseline (`stability-bench supervisor-idle`)"));
        text.AppendLine();
        text.AppendLine(Invariant($"{services} `/bin/sleep 3600` services per build and round, {rounds} interleaved rounds (the first build alternates); idle window {idleSeconds} s after a 3 s settle; {(alerts ? "an alert rule for every service on the event triggers (alerts.json); " : "no alert rules; ")}crash → restart: median of {kills} SIGKILLs of one service until status.json shows the new pid; figures are medians over the rounds. Load average {LoadAverage()} at the end (shared machine)."));
        text.AppendLine();
        text.AppendLine(Invariant($"| build | idle CPU of {services} supervisors together, % of a core | PSS sum, MB | RSS sum, MB | crash → restart median, ms |"));
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (label, path) in builds)
        {
            var r = results[label];
            text.AppendLine(Invariant($"| {label} (`{path}`) | {BenchReport.Median(r.Select(x => x.IdleCpuPercent)):0.000} | {BenchReport.Median(r.Select(x => x.PssMb)):0.0} | {BenchReport.Median(r.Select(x => x.RssMb)):0.0} | {BenchReport.Median(r.Select(x => x.RestartMs)):0.0} |"));
        }

        text.AppendLine();
        text.AppendLine("Per round: " + string.Join("; ", builds.Select(b => $"{b.Item1}: " + string.Join(", ",
            results[b.Item1].Select(x => Invariant($"{x.IdleCpuPercent:0.000} % / {x.PssMb:0.0} MB / {x.RestartMs:0.0} ms"))))) + ".");
        text.AppendLine();
        // A point every heartbeat (5 s by default) per live service.
        text.AppendLine(Invariant($"History append (issue #24; this build's engine in the bench's own process, {append.Count} appends to one system_metrics.jsonl at the default bound of {SystemMetricsHistory.DefaultMaxPoints} points, its compactions included): median {append.MedianUs:0} µs, p99 {append.P99Us:0} µs, max {append.MaxUs:0} µs; CPU {append.CpuUsPerAppend:0} µs an append on average, so {services} supervisors at a 5 s heartbeat spend {services * append.CpuUsPerAppend / 5e6 * 100:0.000} % of a core on it; the file ends at {append.FileBytes / 1024.0:0} KB."));
        text.AppendLine();
        text.AppendLine("Reproduce: `STABILITY_BENCH_BASELINE=PATH dotnet pwsh ./build.ps1 Bench -Suite supervisor-idle` (or `dotnet artifacts/bench/stability-bench.dll supervisor-idle --baseline PATH [--rounds 2] [--idle-seconds 60]`).");
        return text.ToString();
    }

    private static double MemoryMb(int pid, string file, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/{file}"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Round(double IdleCpuPercent, double PssMb, double RssMb, double RestartMs);

    private sealed record AppendCost(int Count, double MedianUs, double P99Us, double MaxUs, double CpuUsPerAppend, long FileBytes);
}
