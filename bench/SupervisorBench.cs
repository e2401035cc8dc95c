using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Bench;

/// <summary>
/// Supervisor benchmark (issue #3): crash-to-restart latency over SIGKILLs, control acknowledgement latency, time to
/// start 10 services until all run, status of 10 services from a warm process, and the supervisor's idle RSS and CPU.
/// Runs /bin/sleep as the service, so the figures are the supervisor's own.
/// </summary>
/// <remarks>
/// Options: <c>--supervisor PATH</c> (default: the hosts folder, or artifacts/StabilityTools/hosts beside the bench),
/// <c>--kills 25</c>, <c>--idle-seconds 60</c>.
/// </remarks>
internal static class SupervisorBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var supervisor = Option("supervisor") ?? FindSupervisor();
        var kills = int.Parse(Option("kills") ?? "25", CultureInfo.InvariantCulture);
        var idleSeconds = int.Parse(Option("idle-seconds") ?? "60", CultureInfo.InvariantCulture);
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-sup-{Guid.NewGuid():N}"[..24]);
        var state = StateDirectory.Open(root);
        var manager = new ProcessManager(state, new LocalLauncher(supervisor));
        var sleep = ExecutableResolver.Resolve("sleep") ?? "/bin/sleep";
        try
        {
            // 1. Crash-to-restart latency: SIGKILL the service, time until status.json shows the new pid.
            var spec = ServiceSpec.ForKind(ServiceKind.Program, "crashy", sleep, ["3600"]) with
            {
                RestartPolicy = RestartPolicy.Always, StartupGraceMs = 0,
                // Every run counts as healthy, so each restart is the immediate first one and the circuit never opens.
                BackoffResetAfterMs = 1, CircuitMaxRestarts = 1_000_000,
            };
            await manager.StartAsync(spec);
            var statusPath = state.ServiceStatusPath("crashy");
            var store = new StatusStore();
            var external = new List<double>();
            for (var i = 0; i < kills; i++)
            {
                var before = store.Read<ProcessStatus>(statusPath).GetDocumentOrThrow().Pid;
                var clock = Stopwatch.StartNew();
                Native.Signal(before, Native.SIGKILL);
                while (true)
                {
                    var pid = store.Read<ProcessStatus>(statusPath).Document?.Pid ?? 0;
                    if (pid != 0 && pid != before)
                    {
                        break;
                    }

                    if (clock.Elapsed > TimeSpan.FromSeconds(10))
                    {
                        throw new TimeoutException($"No restart within 10 s after kill {i + 1}.");
                    }

                    Thread.SpinWait(100);
                }

                external.Add(clock.Elapsed.TotalMilliseconds);
                // Let the new process settle (exec'd, status written) before the next kill.
                await Task.Delay(150);
            }

            var events = manager.GetEvents("crashy");
            var internalMs = new List<double>();
            for (var i = 0; i + 2 < events.Count; i++)
            {
                if (events[i].Type == "exited" && events[i + 1].Type == "restarting" && events[i + 2].Type == "started")
                {
                    internalMs.Add((events[i + 2].Time - events[i].Time).TotalMilliseconds);
                }
            }

            // 2. Control acknowledgement: reload-limits round trips.
            var acks = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var clock = Stopwatch.StartNew();
                await manager.SendAsync("crashy", ControlRequest.Create(ControlCommand.ReloadLimits));
                acks.Add(clock.Elapsed.TotalMilliseconds);
            }

            await manager.StopAsync("crashy", force: true);

            // 3. Ten services at once, until all are running.
            var startClock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(1, 10).Select(n =>
                manager.StartAsync(ServiceSpec.ForKind(ServiceKind.Program, $"svc{n:00}", sleep, ["3600"]))));
            var startAll = startClock.Elapsed.TotalMilliseconds;
            var startGrace = ServiceSpec.ForKind(ServiceKind.Program, "x", sleep).StartupGraceMs;

            // 4. Status of 10 services from a warm process (what a warm Get-ProcessStatus does below the cmdlet).
            for (var i = 0; i < 20; i++)
            {
                manager.GetStatuses();
            }

            var statusTimes = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var clock = Stopwatch.StartNew();
                var all = manager.GetStatuses();
                statusTimes.Add(clock.Elapsed.TotalMilliseconds);
                if (all.Count(s => s.State == ServiceState.Running) != 10)
                {
                    throw new InvalidOperationException("Not all 10 services are running.");
                }
            }

            // 5. Idle supervisor: RSS and CPU over the idle window, averaged over the 10 supervisors.
            var supervisors = manager.GetStatuses().Where(s => s.State == ServiceState.Running).Select(s => s.SupervisorPid).ToList();
            await Task.Delay(TimeSpan.FromSeconds(3));
            var ticksBefore = supervisors.Sum(p => ProcessTable.Read(p)?.CpuTicks ?? 0);
            var idleClock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            var ticksAfter = supervisors.Sum(p => ProcessTable.Read(p)?.CpuTicks ?? 0);
            var idleCpu = (ticksAfter - ticksBefore) * 100.0 / ProcessTable.TicksPerSecond / idleClock.Elapsed.TotalSeconds / supervisors.Count;
            var rss = supervisors.Select(p => VmRssMb(p)).ToList();

            foreach (var name in manager.ListServices())
            {
                await manager.StopAsync(name, force: true);
            }

            Console.WriteLine("## Supervisor (issue #3)");
            Console.WriteLine();
            Console.WriteLine($"Service: `{sleep} 3600`; supervisor: `{supervisor}`; {Environment.ProcessorCount} CPUs; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
            Console.WriteLine();
            Console.WriteLine("| Measure | Median | p90 | Min | Max | n | Goal |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            Row("Crash-to-restart, SIGKILL → new pid in status.json (ms)", external, "≤ 15 ms (PM2 18–41, supervisord ~1040)");
            Row("Crash-to-restart inside the supervisor, exit handled → new process started (ms)", internalMs, "");
            Row("Control request → acknowledgement in status.json (ms)", acks, "≤ 100 ms");
            Row("Status of 10 services, warm process, engine call (ms)", statusTimes, "≤ 10 ms (cmdlet)");
            Console.WriteLine();
            Console.WriteLine($"- Start 10 services at once until all are `running`: {startAll:0} ms (each waits its {startGrace} ms startup grace).");
            Console.WriteLine($"- Idle supervisor RSS: median {Median(rss):0.0} MB (min {rss.Min():0.0}, max {rss.Max():0.0}) over {rss.Count} supervisors (goal ≤ 20 MB; supervisord 27 MB, PM2 57 MB).");
            Console.WriteLine($"- Idle supervisor CPU over {idleSeconds} s: {idleCpu:0.00} % of one core per supervisor (1 Hz heartbeat + /proc sample).");
            return 0;
        }
        finally
        {
            foreach (var info in SafeStatuses(manager))
            {
                if (info.Pid > 0)
                {
                    Native.Signal(info.Pid, Native.SIGKILL);
                }

                if (info.SupervisorPid > 0 && info.State is not (ServiceState.Stopped or ServiceState.Completed or ServiceState.Fatal))
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

    private static IReadOnlyList<ServiceInfo> SafeStatuses(ProcessManager manager)
    {
        try
        {
            return manager.GetStatuses();
        }
        catch (Exception)
        {
            return [];
        }
    }

    private static string FindSupervisor()
    {
        try
        {
            return HostLocator.Find("supervisor");
        }
        catch (StabilityTools.Engine.Errors.ConfigurationException)
        {
            var artifacts = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "StabilityTools", "hosts", "supervisor", "stability-supervisor.dll"));
            if (File.Exists(artifacts))
            {
                return artifacts;
            }

            throw;
        }
    }

    private static double VmRssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }

    private static void Row(string name, List<double> values, string goal) =>
        Console.WriteLine($"| {name} | {Median(values):0.00} | {Percentile(values, 0.9):0.00} | {(values.Count > 0 ? values.Min() : double.NaN):0.00} | {(values.Count > 0 ? values.Max() : double.NaN):0.00} | {values.Count} | {goal} |");
}
