using System.Diagnostics;
using System.Globalization;
using StabilityTools.Bench.Supervisor;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;

namespace StabilityTools.Bench.Starts;

/// <summary>
/// Many services at once (issue #16): 10 and 50 <c>/bin/sleep</c> services started by one command until all are
/// <c>running</c>, through the cmdlet in a warm pwsh session, for this build and, interleaved in the same sitting, for
/// another build of the module (today's main: there "one command" is a loop of single starts, the only way it has);
/// then the same through the engine call (all at once vs one after another), and stopping them all by one command.
/// </summary>
/// <remarks>
/// Options: <c>--module PSD1</c> (default: artifacts/StabilityTools/StabilityTools.psd1 beside the bench),
/// <c>--base-module PSD1</c> (the build to compare with; its rows are left out without it), <c>--rounds 3</c>,
/// <c>--pwsh DLL</c> (default: the PowerShell tool package in the NuGet cache).
/// </remarks>
internal static class StartsBench
{
    private static readonly int[] Counts = [10, 50];

    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, "--" + name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var module = Option("module") ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "StabilityTools", "StabilityTools.psd1"));
        var baseModule = Option("base-module");
        var rounds = int.Parse(Option("rounds") ?? "3", CultureInfo.InvariantCulture);
        var pwsh = Option("pwsh") ?? FindPwsh() ?? throw new InvalidOperationException("No pwsh.dll in the NuGet cache: give --pwsh.");
        var sleep = ExecutableResolver.Resolve("sleep") ?? "/bin/sleep";
        var builds = new List<(string Label, string Module, bool Batch)> { ("this build", module, true) };
        if (baseModule is not null)
        {
            builds.Add(("base", baseModule, false));
        }

        var samples = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string key, double ms) => (samples.TryGetValue(key, out var list) ? list : samples[key] = []).Add(ms);
        var loads = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            // Interleaved, alternating which build goes first, so drift in the machine's load falls on both alike.
            foreach (var build in round % 2 == 0 ? builds : builds.AsEnumerable().Reverse())
            {
                foreach (var (key, ms) in RunSession(pwsh, build.Module, build.Batch, sleep))
                {
                    Add($"{build.Label}|{key}", ms);
                }
            }

            foreach (var count in Counts)
            {
                var (together, oneByOne) = await EngineStartsAsync(count, sleep);
                Add($"engine|together {count}", together);
                Add($"engine|one by one {count}", oneByOne);
            }

            loads.Add(LoadAverage());
        }

        Console.WriteLine(BenchReport.Header("Starting many services (`stability-bench starts`)"));
        Console.WriteLine($"Services `{sleep} 3600` under `-FilePath` (a program that cannot say when it is ready: each waits its 1 s startup grace); " +
            $"{rounds} rounds, the builds interleaved in each; load average after each round: {string.Join("; ", loads)} (shared machine). " +
            $"This build: `{module}`." + (baseModule is null ? "" : $" Base: `{baseModule}`."));
        Console.WriteLine();
        Console.WriteLine("| measure | build | median ms | min | max | n | goal |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|");
        foreach (var count in Counts)
        {
            var goal = count == 10 ? "≤ 1500" : "≤ 4000";
            foreach (var build in builds)
            {
                Row($"{count} services started by one command until all `running`, cmdlet, warm session{(build.Batch ? "" : " (a loop of single starts)")}", build.Label, samples, $"{build.Label}|start {count}", goal);
            }

            Row($"the same with `-NoWait` (until every supervisor runs)", "this build", samples, $"this build|nowait {count}", "");
            foreach (var build in builds)
            {
                Row($"{count} services stopped by one command (`Get-ProcessStatus \\| Stop-TrainingProcess`)", build.Label, samples, $"{build.Label}|stop {count}", "");
            }

            Row($"{count} services started by the engine call `StartManyAsync`", "this build", samples, $"engine|together {count}", "");
            Row($"{count} services started by `StartAsync` one after another", "this build", samples, $"engine|one by one {count}", "");
        }

        Console.WriteLine();
        Console.WriteLine("Reproduce: `dotnet pwsh ./build.ps1 Build`, then `dotnet artifacts/bench/stability-bench.dll starts --base-module <other build>/StabilityTools.psd1 " +
            "[--rounds 3]`. Each round runs one warm pwsh session per build (the module imported and one service started and stopped before timing); a start " +
            "is timed from the command to its return, which for both builds is when every service is `running` (checked after, untimed).");
        return 0;
    }

    /// <summary>One warm session of <paramref name="module"/>: for each count, a timed start of that many services (and, with the batch cmdlets, one with -NoWait), then a timed stop of all.</summary>
    private static IEnumerable<(string Key, double Ms)> RunSession(string pwsh, string module, bool batch, string sleep)
    {
        var state = Path.Combine(Path.GetTempPath(), $"st-bench-starts-{Guid.NewGuid():N}"[..28]);
        var start = batch
            ? $"$names | Start-TrainingProcess -FilePath '{sleep}' -ArgumentList 3600 -StateDirectory '{state}' -ErrorAction Stop"
            : $"foreach ($n in $names) {{ Start-TrainingProcess -Name $n -FilePath '{sleep}' -ArgumentList 3600 -StateDirectory '{state}' -ErrorAction Stop }}";
        var stop = $"Get-ProcessStatus -StateDirectory '{state}' | Stop-TrainingProcess -Confirm:$false -ErrorAction Stop";
        var script = $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{module}}'
            function Assert-AllRunning($count) {
                $running = @(Get-ProcessStatus -StateDirectory '{{state}}' | Where-Object State -eq 'Running').Count
                if ($running -ne $count) { throw "$running of $count services running" }
            }
            $names = @('warm')
            {{start}}
            {{stop}}
            foreach ($count in {{string.Join(',', Counts)}}) {
                $names = 1..$count | ForEach-Object { 'b{0:d3}' -f $_ }
                $ms = (Measure-Command { {{start}} }).TotalMilliseconds
                Assert-AllRunning $count
                "start $count=$($ms.ToString([cultureinfo]::InvariantCulture))"
                $ms = (Measure-Command { {{stop}} }).TotalMilliseconds
                "stop $count=$($ms.ToString([cultureinfo]::InvariantCulture))"
                if ({{(batch ? "$true" : "$false")}}) {
                    $ms = (Measure-Command { $names | Start-TrainingProcess -FilePath '{{sleep}}' -ArgumentList 3600 -StateDirectory '{{state}}' -NoWait -ErrorAction Stop }).TotalMilliseconds
                    "nowait $count=$($ms.ToString([cultureinfo]::InvariantCulture))"
                    $deadline = [DateTime]::UtcNow.AddSeconds(60)
                    while (@(Get-ProcessStatus -StateDirectory '{{state}}' | Where-Object State -eq 'Running').Count -lt $count -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                    Assert-AllRunning $count
                    {{stop}}
                }
            }
            """;
        try
        {
            var info = new ProcessStartInfo(HostLocator.DotNetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { pwsh, "-NoProfile", "-NonInteractive", "-Command", script })
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The pwsh session of '{module}' did not finish within 8 minutes.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"The pwsh session of '{module}' failed with exit code {process.ExitCode}: {error.Result}");
            }

            return output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split('='))
                .Where(p => p.Length == 2 && double.TryParse(p[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                .Select(p => (p[0], double.Parse(p[1], CultureInfo.InvariantCulture)))
                .ToList();
        }
        finally
        {
            Cleanup(state);
        }
    }

    /// <summary>Starts <paramref name="count"/> services through the engine all at once, stops them, then one after another.</summary>
    private static async Task<(double Together, double OneByOne)> EngineStartsAsync(int count, string sleep)
    {
        var root = Path.Combine(Path.GetTempPath(), $"st-bench-starts-{Guid.NewGuid():N}"[..28]);
        var manager = new ProcessManager(StateDirectory.Open(root), new LocalLauncher(SupervisorBench.FindSupervisor()));
        try
        {
            var specs = Enumerable.Range(1, count).Select(i => ServiceSpec.ForKind(ServiceKind.Program, $"e{i:d3}", sleep, ["3600"])).ToList();
            var clock = Stopwatch.StartNew();
            var outcomes = await manager.StartManyAsync(specs);
            var together = clock.Elapsed.TotalMilliseconds;
            if (outcomes.FirstOrDefault(o => !o.Succeeded) is { } failed)
            {
                throw new InvalidOperationException($"'{failed.Name}' did not start: {failed.Error!.Message}");
            }

            await manager.StopManyAsync(manager.ListServices());
            clock.Restart();
            foreach (var spec in specs)
            {
                await manager.StartAsync(spec);
            }

            var oneByOne = clock.Elapsed.TotalMilliseconds;
            await manager.StopManyAsync(manager.ListServices());
            return (together, oneByOne);
        }
        finally
        {
            Cleanup(root);
        }
    }

    /// <summary>Kills whatever a failed round left running in <paramref name="root"/> and deletes it.</summary>
    private static void Cleanup(string root)
    {
        if (Directory.Exists(root))
        {
            try
            {
                var manager = new ProcessManager(StateDirectory.Locate(root));
                foreach (var info in manager.GetStatuses().Where(s => s.State is not (ServiceState.Stopped or ServiceState.Completed or ServiceState.Fatal)))
                {
                    Native.Signal(info.Pid, Native.SIGKILL);
                    Native.Signal(info.SupervisorPid, Native.SIGKILL);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Engine.Errors.StabilityException)
            {
                // Best effort; the directory goes below.
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

    private static void Row(string measure, string build, Dictionary<string, List<double>> samples, string key, string goal)
    {
        if (!samples.TryGetValue(key, out var values) || values.Count == 0)
        {
            return;
        }

        Console.WriteLine($"| {measure} | {build} | {BenchReport.F(BenchReport.Median(values), "0")} | {BenchReport.F(values.Min(), "0")} | {BenchReport.F(values.Max(), "0")} | {values.Count} | {goal} |");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string? FindPwsh()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Directory.Exists(Path.Combine(packages, "powershell"))
            ? Directory.EnumerateFiles(Path.Combine(packages, "powershell"), "pwsh.dll", SearchOption.AllDirectories)
                .Where(f => f.Contains($"{Path.DirectorySeparatorChar}unix{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Order().LastOrDefault()
            : null;
    }
}
