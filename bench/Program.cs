using StabilityTools.Bench.Store;
using StabilityTools.Bench.Supervisor;

// stability-bench <suite> [options]: each suite measures one part and prints a Markdown section for
// bench/RESULTS.md. `dotnet pwsh ./build.ps1 Bench` runs them all and records the output.
var suites = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.Ordinal)
{
    ["store"] = StoreBench.RunAsync,
    ["supervisor"] = SupervisorBench.RunAsync,
    ["supervisor-idle"] = IdleComparisonBench.RunAsync,
    ["dashboard"] = StabilityTools.Bench.Dashboard.DashboardBench.RunAsync,
    ["dashboard-runs"] = StabilityTools.Bench.DashboardRuns.DashboardRunsBench.RunAsync,
    ["trainer"] = StabilityTools.Bench.Trainer.TrainerBench.RunAsync,
    ["isolation"] = StabilityTools.Bench.Isolation.IsolationBench.RunAsync,
    ["slurm"] = StabilityTools.Bench.Slurm.SlurmBench.RunAsync,
    ["starts"] = StabilityTools.Bench.Starts.StartsBench.RunAsync,
    ["runs"] = StabilityTools.Bench.Runs.RunsBench.RunAsync,
    ["sweeps"] = StabilityTools.Bench.Sweeps.SweepBench.RunAsync,
};

if (args.Length == 0 || !suites.TryGetValue(args[0], out var suite))
{
    Console.Error.WriteLine($"usage: stability-bench <{string.Join('|', suites.Keys)}> [options]");
    return 64;
}

return await suite(args[1..]);
