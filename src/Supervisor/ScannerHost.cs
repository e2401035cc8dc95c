using Serilog;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// <c>stability-supervisor --scan --state-dir DIR</c>: the state directory's scanner (<see cref="SupervisionScanner"/>).
/// It heals (launches the replacement of every supervisor that died while its service runs, which takes the service
/// back), then sleeps in one poll over the live supervisors' pidfds and a wake descriptor that the watch on
/// <c>scanner.poke</c> signals; a supervisor's death wakes it at once. Once no local service is left to watch it ends.
/// </summary>
internal static class ScannerHost
{
    private const int ExitUsage = 64;
    private const int ExitAlreadyRunning = 75;
    private const int ExitConfig = 78;

    // A safety net only: a poke or a death wakes the scanner; this bounds what a missed poke could cost.
    private static readonly TimeSpan Recheck = TimeSpan.FromMinutes(1);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [SupervisionScanner.Option, "--state-dir", var root])
        {
            Console.Error.WriteLine("usage: stability-supervisor --scan --state-dir DIR");
            return ExitUsage;
        }

        StateDirectory state;
        try
        {
            state = StateDirectory.Open(root);
        }
        catch (StateDirectoryException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ExitConfig;
        }

        using var held = FileLock.TryAcquire(SupervisionScanner.LockPath(state));
        if (held is null)
        {
            return ExitAlreadyRunning;
        }

        Native.CreateSession();
        Native.DetachStandardStreams();
        await using var log = new LoggerConfiguration()
            .MinimumLevel.Information()
            .Enrich.WithProperty("ScannerPid", Environment.ProcessId)
            .WriteTo.Sink(new RotatingLogSink(new RotatingLog(Path.Combine(state.Root, "scanner.log"), 1024 * 1024, 2), new Serilog.Formatting.Compact.CompactJsonFormatter()))
            .CreateLogger();
        log.Information("Scanner {Pid} watches the supervisors of {Root}", Environment.ProcessId, state.Root);

        using var wake = new WakeSignal();
        using var poke = WatchPokes(state, wake, log);
        var manager = new ProcessManager(state, new LocalLauncher(SelfPath()));
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        var watched = new Dictionary<ProcessIdentity, int>();
        try
        {
            while (true)
            {
                foreach (var outcome in await manager.HealSupervisorsAsync().ConfigureAwait(false))
                {
                    if (outcome.Error is null)
                    {
                        log.Information("Replaced the supervisor of {Service}: {Supervisor} took pid {Pid} back", outcome.Name, outcome.Info?.SupervisorPid, outcome.Info?.Pid);
                    }
                    else
                    {
                        log.Error(outcome.Error, "Could not replace the supervisor of {Service}", outcome.Name);
                    }
                }

                var (supervisors, unsupervised) = SupervisionScanner.LocalSupervisors(state, store);
                if (supervisors.Count == 0 && !unsupervised)
                {
                    log.Information("No supervisor left to watch: the scanner ends (the next command starts it again)");
                    return 0;
                }

                Watch(watched, supervisors);
                // A replacement that could not take over yet (a lock still held a moment) is tried again soon.
                var timeout = unsupervised ? TimeSpan.FromMilliseconds(500) : Recheck;
                ExitWatch.WaitAny([.. watched.Values], wake.Descriptor, timeout);
                wake.Clear();
            }
        }
        finally
        {
            foreach (var fd in watched.Values)
            {
                ExitWatch.Close(fd);
            }
        }
    }

    /// <summary>Opens a pidfd for each supervisor not watched yet and closes those of supervisors no longer listed.</summary>
    private static void Watch(Dictionary<ProcessIdentity, int> watched, IReadOnlyList<ProcessIdentity> supervisors)
    {
        foreach (var gone in watched.Keys.Except(supervisors).ToList())
        {
            ExitWatch.Close(watched[gone]);
            watched.Remove(gone);
        }

        foreach (var supervisor in supervisors.Where(s => !watched.ContainsKey(s)))
        {
            // Opened, then checked again: a pidfd of a reused pid is never kept.
            if (ExitWatch.OpenPidfd(supervisor.Pid) is var fd and >= 0)
            {
                if (supervisor.IsAlive())
                {
                    watched[supervisor] = fd;
                }
                else
                {
                    ExitWatch.Close(fd);
                }
            }
        }
    }

    private static FileSystemWatcher? WatchPokes(StateDirectory state, WakeSignal wake, ILogger log)
    {
        try
        {
            var watch = new FileSystemWatcher(state.Root, Path.GetFileName(SupervisionScanner.PokePath(state)))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            watch.Changed += (_, _) => wake.Set();
            watch.Created += (_, _) => wake.Set();
            watch.EnableRaisingEvents = true;
            return watch;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            log.Warning("No watch on scanner.poke ({Message}): new supervisors are watched from the next minute's look", ex.Message);
            return null;
        }
    }

    /// <summary>This executable, as a launcher starts it: the native supervisor, or the supervisor's dll under dotnet.</summary>
    private static string SelfPath() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) != "dotnet"
            ? path
            : Path.Combine(AppContext.BaseDirectory, "stability-supervisor.dll");
}
