using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StabilityTools.Bench.Supervisor;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;

namespace StabilityTools.Bench.Runs;

/// <summary>
/// Runs at scale (issue #17): listing 1,000 runs (engine call and Get-TrainingRun in a warm session), and the status of
/// one service with 1,000 runs on disk against one run on disk (Get-TrainingStatus -Name), measured interleaved.
/// </summary>
internal static class RunsBench
{
    private const int RunCount = 1000;

    public static Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-runs-{Environment.ProcessId}");
        try
        {
            var many = Populate(Path.Combine(root, "many"), RunCount);
            var one = Populate(Path.Combine(root, "one"), 1);
            var catalog = new TrainingRuns(StateDirectory.Locate(many));
            var bytes = new FileInfo(StateDirectory.Locate(many).Run(catalog.CurrentRunOf("svc")!).RunInfoPath).Length;

            // Engine: list all (warm: 3 calls first), and one service's status with many and with one run on disk, interleaved.
            var list = new List<double>();
            var statusMany = new List<double>();
            var statusOne = new List<double>();
            var monitors = (Many: new TrainingMonitor(StateDirectory.Locate(many), service: "svc"), One: new TrainingMonitor(StateDirectory.Locate(one), service: "svc"));
            for (var i = 0; i < 23; i++)
            {
                var clock = Stopwatch.StartNew();
                var count = catalog.List().Count;
                if (count != RunCount)
                {
                    throw new InvalidOperationException($"listed {count} runs, wrote {RunCount}");
                }

                if (i >= 3)
                {
                    list.Add(clock.Elapsed.TotalMilliseconds);
                }

                for (var j = 0; j < 10; j++)
                {
                    clock.Restart();
                    _ = monitors.Many.GetStatus();
                    statusMany.Add(clock.Elapsed.TotalMilliseconds);
                    clock.Restart();
                    _ = monitors.One.GetStatus();
                    statusOne.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            var (warmList, _) = SupervisorBench.MeasureCmdlet(Option("module"), Option("pwsh"), $"Get-TrainingRun -StateDirectory '{many}'", coldCalls: 0);
            var (warmStatusMany, _) = SupervisorBench.MeasureCmdlet(Option("module"), Option("pwsh"), $"Get-TrainingStatus -Name svc -StateDirectory '{many}'", coldCalls: 0);
            var (warmStatusOne, _) = SupervisorBench.MeasureCmdlet(Option("module"), Option("pwsh"), $"Get-TrainingStatus -Name svc -StateDirectory '{one}'", coldCalls: 0);

            var report = new StringBuilder(BenchReport.Header("Runs (`stability-bench runs`)"));
            report.AppendLine($"{RunCount} runs in one state directory, each `run.json` {bytes} bytes (40 parameters, final and best metrics); load average {LoadAverage()}.");
            report.AppendLine();
            report.AppendLine("| measure | median ms | p90 ms | n | goal |");
            report.AppendLine("|---|---:|---:|---:|---|");
            Row(report, $"`TrainingRuns.List()`, {RunCount} runs, warm process (engine call)", list, "");
            Row(report, $"`Get-TrainingRun`, {RunCount} runs, warm session", warmList, "≤ 100");
            Row(report, $"status of one service, {RunCount} runs on disk (engine call)", statusMany, "");
            Row(report, "status of one service, 1 run on disk (engine call)", statusOne, "");
            Row(report, $"`Get-TrainingStatus -Name svc`, {RunCount} runs on disk, warm session", warmStatusMany, "as with 1 run");
            Row(report, "`Get-TrainingStatus -Name svc`, 1 run on disk, warm session", warmStatusOne, "");
            report.AppendLine();
            report.AppendLine($"Ratio of the status medians, {RunCount} runs to 1: engine {BenchReport.F(BenchReport.Median(statusMany) / BenchReport.Median(statusOne), "0.00")}, " +
                $"cmdlet {BenchReport.F(BenchReport.Median(warmStatusMany) / BenchReport.Median(warmStatusOne), "0.00")} (a service's status reads its own run only, whatever else is on disk).");
            report.AppendLine();
            report.AppendLine("Reproduce: `dotnet pwsh ./build.ps1 Bench -Suite runs`, or after a build `dotnet artifacts/bench/stability-bench.dll runs`.");
            Console.WriteLine(report.ToString());
            return Task.FromResult(0);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A state directory with <paramref name="count"/> completed runs of service <c>svc</c>, its status naming the last.</summary>
    private static string Populate(string root, int count)
    {
        var state = StateDirectory.Open(root);
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        string? last = null;
        for (var i = 0; i < count; i++)
        {
            var created = DateTimeOffset.UtcNow.AddMinutes(i - count);
            var run = state.EnsureRun(last = $"{StateDirectory.NewRunId(created)}-{i:D4}");
            var parameters = Enumerable.Range(0, 40).ToDictionary(p => $"section{p % 5}.parameter_{p}", p => JsonSerializer.SerializeToElement(p * 0.001 + i));
            var metrics = new Dictionary<string, double> { ["train_loss"] = 0.5, ["val_loss"] = 0.6, ["val_accuracy"] = 0.55 + i * 1e-5, ["samples_per_sec"] = 90000 };
            store.Write(run.RunInfoPath, new TrainingRun
            {
                RunId = run.RunId, Service = "svc", Experiment = "bench", Tags = ["bench"], State = RunStates.Completed, Created = created, Started = created,
                Ended = created.AddMinutes(1), Attempts = 1, Parameters = parameters, Fingerprint = "0123456789abcdef", Trainer = "stability-trainer 0.1.0",
                Host = Environment.MachineName, Device = "cpu", Epochs = 4, Final = metrics, Best = metrics, FinalModel = run.FinalModelPath,
            });
            store.Write(run.TrainingStatusPath, new TrainingStatus { RunId = run.RunId, State = TrainerState.Completed, CurrentEpoch = 4, TotalEpochs = 4, Loss = 0.5 });
        }

        state.EnsureServiceDirectory("svc");
        store.Write(state.ServiceStatusPath("svc"), new ProcessStatus { Name = "svc", Kind = "training", Status = ServiceState.Completed, RunId = last });
        return root;
    }

    private static void Row(StringBuilder report, string name, List<double> values, string goal)
    {
        var sorted = values.Order().ToList();
        report.AppendLine($"| {name} | {BenchReport.F(BenchReport.Percentile(sorted, 50), "0.00")} | {BenchReport.F(BenchReport.Percentile(sorted, 90), "0.00")} | {values.Count} | {goal} |");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
