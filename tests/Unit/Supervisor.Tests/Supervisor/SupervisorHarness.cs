using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>
/// A state directory in /tmp, a ProcessManager that launches the real built supervisor, and a cleanup that stops
/// every service and then kills anything still carrying this state directory in its environment, so a failing test
/// never leaks processes.
/// </summary>
internal sealed class SupervisorHarness : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new("st-sup");

    public SupervisorHarness()
    {
        State = StateDirectory.Open(_dir.Path);
        Manager = new ProcessManager(State, new LocalLauncher(TestPrograms.SupervisorPath));
    }

    public StateDirectory State { get; }

    public ProcessManager Manager { get; }

    public static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A spec that runs the dummy with <paramref name="arguments"/>.</summary>
    public static ServiceSpec Dummy(string name, ServiceKind kind, params string[] arguments) =>
        ServiceSpec.ForKind(kind, name, TestPrograms.DotNetHost, [TestPrograms.DummyPath, .. arguments]) with { StartupGraceMs = 300 };

    public Task<ServiceInfo> StartAsync(ServiceSpec spec) => Manager.StartAsync(spec, null, Token);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<T?> probe, Func<T?, bool> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var bound = timeout ?? Patience;
        T? last = default;
        while (clock.Elapsed < bound)
        {
            last = probe();
            if (condition(last))
            {
                return last!;
            }

            await Task.Delay(20, Token);
        }

        Assert.Fail($"Timed out after {bound.TotalSeconds:0} s waiting for {what}; last seen: {last}");
        return default!;
    }

    public Task<ServiceInfo> RunningWithNewPidAsync(string name, int oldPid) => EventuallyAsync(
        () => Manager.GetStatus(name), s => s is { State: ServiceState.Running } && s.Pid != oldPid && s.Pid != 0, $"'{name}' running with a pid other than {oldPid}");

    public Task WaitForEventAsync(string name, string type) => EventuallyAsync(
        () => Manager.GetEvents(name, type: type), e => e is { Count: > 0 }, $"a '{type}' event of '{name}'");

    public static Task WaitGoneAsync(ProcessIdentity identity) => EventuallyAsync(
        () => identity.IsAlive(), alive => !alive, $"pid {identity.Pid} to be gone", TimeSpan.FromSeconds(15));

    /// <summary>Pids of live processes whose environment names this state directory (services and their trees).</summary>
    public IReadOnlyList<int> ProcessesOfThisTest()
    {
        var marker = $"{StateDirectory.HomeVariable}={State.Root}\0";
        var found = new List<int>();
        foreach (var entry in ProcessTable.Capture().Entries.Values)
        {
            if (entry.IsZombie || entry.Pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText($"/proc/{entry.Pid}/environ");
                var cmdline = File.ReadAllText($"/proc/{entry.Pid}/cmdline");
                if (environ.Contains(marker, StringComparison.Ordinal) || cmdline.Contains(State.Root, StringComparison.Ordinal))
                {
                    found.Add(entry.Pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var name in Manager.ListServices())
        {
            try
            {
                await Manager.StopAsync(name, TimeSpan.Zero, force: true, null, CancellationToken.None);
            }
            catch (Exception)
            {
                // Best effort: the sweep below kills what is left.
            }
        }

        foreach (var pid in ProcessesOfThisTest())
        {
            Native.Signal(pid, Native.SIGKILL);
        }

        foreach (var name in State.ListServices())
        {
            ServiceCgroup.TryOpen(State.Root, name, create: false)?.TryRemove();
        }

        _dir.Dispose();
    }
}
