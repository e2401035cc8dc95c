using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;

namespace StabilityTools.Bench.Slurm;

/// <summary>
/// Slurm benchmark (issue #9): submit-to-running latency of a supervised service run as a Slurm job, and the cost of a
/// status query that merges the job's state (one <c>scontrol show job</c>) against a local service's, in one run.
/// Needs a running Slurm cluster (as root, <c>tests/Slurm/single-node.sh</c> starts one; <c>build.ps1 Bench</c> does).
/// The service is <c>/bin/sleep</c>, so the figures are the scheduler's and the supervisor's own.
/// </summary>
/// <remarks>Options: <c>--supervisor PATH</c>, <c>--jobs 10</c>, <c>--queries 100</c>.</remarks>
internal static class SlurmBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var jobs = int.Parse(Option("jobs") ?? "10", CultureInfo.InvariantCulture);
        var queries = int.Parse(Option("queries") ?? "100", CultureInfo.InvariantCulture);
        var slurm = new SlurmClient();
        if (!slurm.IsInstalled)
        {
            Console.Error.WriteLine("The Slurm tools (sbatch, scontrol) are not on PATH: install slurm-wlm and start a cluster (as root: tests/Slurm/single-node.sh).");
            return 69;
        }

        var supervisor = Option("supervisor") ?? Supervisor.SupervisorBench.FindSupervisor();
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-slurm-{Guid.NewGuid():N}"[..26]);
        var state = StateDirectory.Open(root);
        var manager = new ProcessManager(state, new LocalLauncher(supervisor), new ProcessManagerOptions
        {
            Slurm = slurm,
            SlurmLauncher = new SlurmLauncher(slurm, supervisor),
        });
        var sleep = ExecutableResolver.Resolve("sleep") ?? "/bin/sleep";
        try
        {
            var submit = new List<double>();
            var toJobRunning = new List<double>();
            var toServiceRunning = new List<double>();
            var stop = new List<double>();
            for (var i = 0; i < jobs; i++)
            {
                // Startup grace 0: 'running' as soon as the supervisor has the service up, so the figure is the path's own.
                var spec = ServiceSpec.ForKind(ServiceKind.Program, "bench-slurm", sleep, ["3600"]) with
                {
                    StartupGraceMs = 0,
                    Slurm = new SlurmJobOptions { CpusPerTask = 1, MemoryMb = 200 },
                };
                var clock = Stopwatch.StartNew();
                var submitted = await manager.StartAsync(spec);
                submit.Add(clock.Elapsed.TotalMilliseconds);
                double? jobRunning = null;
                while (true)
                {
                    var info = manager.GetStatus("bench-slurm");
                    if (jobRunning is null && info.JobState is "RUNNING")
                    {
                        jobRunning = clock.Elapsed.TotalMilliseconds;
                    }

                    if (info.State == ServiceState.Running)
                    {
                        toServiceRunning.Add(clock.Elapsed.TotalMilliseconds);
                        toJobRunning.Add(jobRunning ?? clock.Elapsed.TotalMilliseconds);
                        break;
                    }

                    if (clock.Elapsed > TimeSpan.FromSeconds(120) || info.State is ServiceState.Fatal or ServiceState.Stopped)
                    {
                        throw new TimeoutException($"Job {submitted.JobId} was not running after {clock.Elapsed.TotalSeconds:0} s: {info.State} {info.JobState} {info.ErrorMessage}");
                    }

                    await Task.Delay(5);
                }

                if (i == jobs - 1)
                {
                    break; // the last one stays up for the status queries
                }

                clock.Restart();
                await manager.StopAsync("bench-slurm");
                stop.Add(clock.Elapsed.TotalMilliseconds);
            }

            // Status queries: the Slurm service (status.json + spec + slurm.json + scontrol) against a local one.
            await manager.StartAsync(ServiceSpec.ForKind(ServiceKind.Program, "bench-local", sleep, ["3600"]) with { StartupGraceMs = 0 });
            var slurmQuery = new List<double>();
            var localQuery = new List<double>();
            for (var i = 0; i < queries + 10; i++)
            {
                var clock = Stopwatch.StartNew();
                var s = manager.GetStatus("bench-slurm");
                var slurmMs = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                var l = manager.GetStatus("bench-local");
                var localMs = clock.Elapsed.TotalMilliseconds;
                if (s.State != ServiceState.Running || l.State != ServiceState.Running)
                {
                    throw new InvalidOperationException($"A service stopped running during the queries: {s.State}, {l.State}.");
                }

                if (i >= 10)
                {
                    slurmQuery.Add(slurmMs);
                    localQuery.Add(localMs);
                }
            }

            var stopClock = Stopwatch.StartNew();
            await manager.StopAsync("bench-slurm");
            stop.Add(stopClock.Elapsed.TotalMilliseconds);
            await manager.StopAsync("bench-local");

            Console.WriteLine(BenchReport.Header("Slurm (`stability-bench slurm`)"));
            Console.WriteLine($"Single-node Slurm {SlurmVersion()} started by `tests/Slurm/single-node.sh` (SchedulerParameters={SchedulerParameters()}); " +
                $"service `{sleep} 3600` in a job of 1 CPU, 200 MB; supervisor `{Path.GetFileName(supervisor)}`.");
            Console.WriteLine();
            Console.WriteLine("| measure | median | p90 | min | max | n |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            Row("submit: `StartAsync` (sinfo check, script, sbatch, slurm.json), ms", submit);
            Row("submit → job `RUNNING` (scheduler), ms", toJobRunning);
            Row("submit → service `running` (supervisor up on the node, status.json), ms", toServiceRunning);
            Row("stop: control request → job ended, ms", stop);
            Row("status query, Slurm service (merges `scontrol show job`), ms", slurmQuery);
            Row("status query, local service, same run, ms", localQuery);
            Console.WriteLine();
            Console.WriteLine($"- A Slurm status query costs **{BenchReport.Median(slurmQuery) / BenchReport.Median(localQuery):0}×** a local one: nearly all of it is the `scontrol` process and its round trip to slurmctld.");
            Console.WriteLine();
            Console.WriteLine("Reproduce: `dotnet pwsh ./build.ps1 Bench -Suite slurm` (as root it starts the single-node cluster), or with a cluster up " +
                "`dotnet artifacts/bench/stability-bench.dll slurm [--jobs 10] [--queries 100]`. Submit-to-running is bounded below by the scheduler's " +
                "own cycle (on a production cluster with default SchedulerParameters expect seconds, plus queueing).");
            return 0;
        }
        finally
        {
            foreach (var name in new[] { "bench-slurm", "bench-local" })
            {
                try
                {
                    if (manager.Exists(name))
                    {
                        await manager.StopAsync(name, force: true);
                    }
                }
                catch (Exception ex) when (ex is Engine.Errors.StabilityException)
                {
                    Console.Error.WriteLine($"Could not stop {name}: {ex.Message}");
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

    private static void Row(string name, List<double> values)
    {
        var sorted = values.Order().ToList();
        Console.WriteLine($"| {name} | {BenchReport.F(BenchReport.Median(sorted), "0.0")} | {BenchReport.F(BenchReport.Percentile(sorted, 90), "0.0")} | " +
            $"{BenchReport.F(sorted[0], "0.0")} | {BenchReport.F(sorted[^1], "0.0")} | {sorted.Count} |");
    }

    private static string SlurmVersion() => Tool("sinfo", "--version").Replace("slurm ", "", StringComparison.Ordinal);

    private static string SchedulerParameters() =>
        Tool("scontrol", "show", "config").Split('\n').FirstOrDefault(l => l.StartsWith("SchedulerParameters", StringComparison.Ordinal))?.Split('=', 2)[1].Trim() ?? "?";

    private static string Tool(string tool, params string[] arguments)
    {
        var result = ProcessCommandRunner.Instance.Run(ExecutableResolver.Resolve(tool) ?? tool, arguments, TimeSpan.FromSeconds(10));
        return result.Stdout.Trim();
    }
}
