using System.Globalization;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Sweeps;

namespace StabilityTools.Bench.Sweeps;

/// <summary>
/// Sweep scheduling overhead (issue #20): a sweep of short trials run one at a time by the real controller under its
/// supervisor; for each trial after the first, the time from the previous trial's process exit to this trial's process
/// start, both as their supervisors recorded them in <c>events.jsonl</c> (<c>exited</c>, <c>started</c>): the
/// controller's poll, its read of the trial's status, the progress write, the spec write, the supervisor's launch and
/// its start of the trial.
/// </summary>
/// <remarks>Options: <c>--trials 16</c>, <c>--rounds 2</c>, <c>--trial-seconds 0.3</c>.</remarks>
internal static class SweepBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var trials = int.Parse(Option("trials") ?? "16", CultureInfo.InvariantCulture);
        var rounds = int.Parse(Option("rounds") ?? "2", CultureInfo.InvariantCulture);
        var seconds = Option("trial-seconds") ?? "0.3";
        // The controller and the trials find the supervisor where the build put it.
        Environment.SetEnvironmentVariable(HostLocator.HostsDirectoryVariable, Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "StabilityTools", "hosts")));
        var sleep = Engine.Platform.ExecutableResolver.Resolve("sleep") ?? "/bin/sleep";
        var gaps = new List<double>();
        var walls = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var (roundGaps, wall) = await RunSweepAsync(trials, sleep, seconds);
            gaps.AddRange(roundGaps);
            walls.Add(wall);
        }

        var sorted = gaps.Order().ToList();
        Console.WriteLine(BenchReport.Header("Sweep scheduling (`stability-bench sweeps`)"));
        Console.WriteLine($"{rounds} sweeps of {trials} trials (`{sleep} {seconds}` each, `-MaxConcurrent 1`), the controller `stability-sweep` under its " +
            $"supervisor; overhead = a trial's `started` event minus the previous trial's `exited` event, both written by the trials' supervisors " +
            $"({gaps.Count} gaps). Load average after: {File.ReadAllText("/proc/loadavg").Trim()} (shared machine).");
        Console.WriteLine();
        Console.WriteLine("| measure | median ms | p95 | min | max | n | goal |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        Console.WriteLine($"| trial finished → next trial running | {BenchReport.F(BenchReport.Median(sorted), "0")} | {BenchReport.F(BenchReport.Percentile(sorted, 95), "0")} | " +
            $"{BenchReport.F(sorted[0], "0")} | {BenchReport.F(sorted[^1], "0")} | {sorted.Count} | ≤ 200 |");
        Console.WriteLine($"| whole sweep, start to completed (s) | {BenchReport.F(BenchReport.Median(walls), "0.0")} | | {BenchReport.F(walls.Min(), "0.0")} | {BenchReport.F(walls.Max(), "0.0")} | {walls.Count} | |");
        Console.WriteLine();
        Console.WriteLine($"Reproduce: `dotnet pwsh ./build.ps1 Build`, then `dotnet artifacts/bench/stability-bench.dll sweeps [--trials {trials}] [--rounds {rounds}]` " +
            "(or `dotnet pwsh ./build.ps1 Bench -Suite sweeps`).");
        return 0;
    }

    private static async Task<(List<double> Gaps, double WallSeconds)> RunSweepAsync(int trials, string sleep, string seconds)
    {
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-sweep-{Guid.NewGuid():N}"[..28]);
        var state = StateDirectory.Open(root);
        try
        {
            var manager = new ProcessManager(state);
            var sweeps = new TrainingSweeps(manager);
            var request = new SweepRequest
            {
                Name = "bench",
                Parameters = [new SweepParameter("i", Enumerable.Range(1, trials).Select(i => JsonSerializer.SerializeToElement(i)).ToList())],
                // A trial that exits 0 on its own after a short while; its start counts once the process runs (grace 0).
                Trial = ServiceSpec.ForKind(ServiceKind.Training, "x", sleep, [seconds]) with { StartupGraceMs = 0 },
                MaxConcurrent = 1,
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var plan = sweeps.CreatePlan(request);
            await sweeps.StartAsync(plan);
            var done = await sweeps.WaitAsync("bench", TimeSpan.FromMinutes(10));
            var wall = clock.Elapsed.TotalSeconds;
            if (done.Completed != trials)
            {
                throw new InvalidOperationException($"The bench sweep ended {done.Summary}.");
            }

            var events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath).ReadAll().Records;
            DateTimeOffset? At(string service, string type) => events.FirstOrDefault(e => e.Service == service && e.Type == type)?.Time;
            var gaps = new List<double>();
            for (var i = 2; i <= trials; i++)
            {
                if (At(SweepPlan.TrialName("bench", i - 1), "exited") is { } exited && At(SweepPlan.TrialName("bench", i), "started") is { } started)
                {
                    gaps.Add((started - exited).TotalMilliseconds);
                }
            }

            return (gaps, wall);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
