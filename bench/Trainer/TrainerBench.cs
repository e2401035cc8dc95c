using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.State;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Bench;

/// <summary>
/// Trainer benchmark (issue #4): training throughput of the default model on CPU with 1 and 2 threads, and the
/// cost of status writing, measured inside one run by switching the status writer off and on for alternate epochs.
/// Usage: <c>stability-bench trainer [--epochs N] [--status-epochs N] [--interval-ms N]</c>.
/// </summary>
internal static class TrainerBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var epochs = Option(args, "--epochs", 6);
        var statusEpochs = Option(args, "--status-epochs", 16);
        var intervalMs = Option(args, "--interval-ms", new StatusOptions().WriteIntervalMs);
        var statusBars = Option(args, "--status-bars", 100_000);
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-trainer-{Environment.ProcessId}");
        try
        {
            var defaults = new TrainerOptions();
            Console.WriteLine("## Trainer");
            Console.WriteLine();
            Console.WriteLine($"Default model ({defaults.Model.Kind}, hidden {defaults.Model.HiddenSize} × {defaults.Model.Layers}, window {defaults.Data.Window}, " +
                              $"batch {defaults.Training.BatchSize}, {defaults.Data.Bars} synthetic bars) on CPU; samples/s per epoch, epoch 1 left out as warm-up. " +
                              $"Machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} at start.");
            Console.WriteLine();
            Console.WriteLine("| threads | epochs | median samples/s | min | max |");
            Console.WriteLine("|---:|---:|---:|---:|---:|");
            foreach (var threads in new[] { 1, 2 })
            {
                var options = defaults with { Training = defaults.Training with { Threads = threads, Epochs = epochs } };
                var outcome = Run(options, Path.Combine(root, $"threads-{threads}"), null);
                var rates = outcome.History.Skip(1).Select(h => h.SamplesPerSec).ToList();
                Console.WriteLine(Invariant($"| {threads} | {rates.Count} | {Median(rates):N0} | {rates.Min():N0} | {rates.Max():N0} |"));
            }

            // Status on vs off in one run: even epochs with the writer suspended, odd ones with it writing every
            // interval (heartbeat + status + metrics). Pairs of neighbouring epochs are compared, so slow drifts of
            // the machine's load cancel out.
            // Epochs of ~1 s or more (many write intervals each), so each epoch sees a representative share of writes.
            var statusOptions = defaults with
            {
                Data = defaults.Data with { Bars = statusBars },
                Training = defaults.Training with { Threads = 1, Epochs = statusEpochs },
                Status = defaults.Status with { WriteIntervalMs = intervalMs },
            };
            StatusPublisher? seen = null;
            var hooks = new SessionHooks { EpochStarting = (epoch, publisher) => { seen = publisher; publisher.Suspended = epoch % 2 == 0; } };
            var clock = Stopwatch.StartNew();
            var run = Run(statusOptions, Path.Combine(root, "status"), hooks);
            var wall = clock.Elapsed;
            var on = new List<double>();
            var off = new List<double>();
            var costs = new List<double>();
            for (var e = 3; e + 1 <= run.History.Count; e += 2)
            {
                var withStatus = run.History[e - 1].SamplesPerSec; // epoch e (odd): writing
                var without = run.History[e].SamplesPerSec; // epoch e + 1 (even): suspended
                on.Add(withStatus);
                off.Add(without);
                costs.Add(1 - withStatus / without);
            }

            Console.WriteLine();
            Console.WriteLine(Invariant($"Status writing on vs off in one run (1 thread, {statusBars} bars, write interval {intervalMs} ms, fsync on; {costs.Count} epoch pairs):"));
            Console.WriteLine();
            Console.WriteLine("| status | median samples/s |");
            Console.WriteLine("|---|---:|");
            Console.WriteLine(Invariant($"| on | {Median(on):N0} |"));
            Console.WriteLine(Invariant($"| off | {Median(off):N0} |"));
            Console.WriteLine();
            Console.WriteLine(Invariant($"Cost of status writing: median {Median(costs):P2} per pair (pairs range {costs.Min():P1} to {costs.Max():P1}); goal ≤ 1 %."));
            var busy = seen?.BusyTime ?? TimeSpan.Zero;
            if (seen?.WriterCpuTime is { } cpu)
            {
                Console.WriteLine(Invariant($"The status writer thread used {cpu.TotalMilliseconds:N0} ms of CPU in the run's {wall.TotalSeconds:N1} s ({cpu / wall:P2} of one core; writing in half the epochs, so {2 * cpu / wall:P2} when always on)."));
            }

            Console.WriteLine(Invariant($"The status writer thread was busy {busy.TotalMilliseconds:N0} ms of the run's {wall.TotalSeconds:N1} s ({busy / wall:P2}, fsync waits included; writing only in half the epochs): an upper bound on the CPU it takes from training."));
            return Task.FromResult(0);
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

    private static TrainingOutcome Run(TrainerOptions options, string stateDirectory, SessionHooks? hooks)
    {
        var clock = Stopwatch.StartNew();
        var outcome = TrainingSession.Run(options, StateDirectory.Open(stateDirectory), CancellationToken.None, hooks);
        Console.Error.WriteLine($"trainer bench: {options.Training.Epochs} epochs, {options.Training.Threads} threads in {clock.Elapsed.TotalSeconds:0.0} s");
        return outcome;
    }

    private static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
