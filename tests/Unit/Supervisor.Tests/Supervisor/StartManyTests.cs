using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>Many services started and stopped by one call; concurrent starts of one name yield one service.</summary>
public sealed class StartManyTests
{
    [Fact(Timeout = 300_000)]
    public async Task Many_services_start_at_once_and_a_bad_one_fails_alone_leaving_nothing()
    {
        await using var h = new SupervisorHarness();
        var specs = Enumerable.Range(0, 8).Select(i => SupervisorHarness.Dummy($"many-{i}", ServiceKind.Program, "sleep"))
            .Append(ServiceSpec.ForKind(ServiceKind.Program, "broken", "/bin/sh", ["-c", "echo cannot start >&2; exit 3"]) with { StartupGraceMs = 300, RestartPolicy = RestartPolicy.Never })
            .ToList();

        var outcomes = await h.Manager.StartManyAsync(specs, wait: true, null, SupervisorHarness.Token);

        Assert.Equal(specs.Select(s => s.Name), outcomes.Select(o => o.Name));
        var broken = Assert.Single(outcomes, o => !o.Succeeded);
        Assert.Equal("broken", broken.Name);
        Assert.IsType<ServiceStartException>(broken.Error);
        Assert.Contains("cannot start", broken.Error!.Message);
        Assert.All(outcomes.Where(o => o.Succeeded), o => Assert.Equal(ServiceState.Running, o.Info!.State));
        Assert.Equal(8, outcomes.Select(o => o.Info?.SupervisorPid).OfType<int>().Distinct().Count());
        Assert.NotEqual(ServiceState.Running, h.Manager.GetStatus("broken").State);

        var stopped = await h.Manager.StopManyAsync(h.Manager.ListServices(), TimeSpan.FromSeconds(5), force: false, null, SupervisorHarness.Token);

        Assert.All(stopped, o => Assert.True(o.Succeeded, o.Error?.Message));
        Assert.Empty(h.ProcessesOfThisTest());
    }

    [Fact(Timeout = 300_000)]
    public async Task Concurrent_starts_of_one_name_from_separate_managers_yield_one_service()
    {
        await using var h = new SupervisorHarness();
        var spec = SupervisorHarness.Dummy("twin", ServiceKind.Program, "sleep");
        // Each start its own manager over its own handle of the directory, as separate runspaces or sessions have.
        var starts = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var manager = new ProcessManager(StateDirectory.Open(h.State.Root), new LocalLauncher(TestPrograms.SupervisorPath));
            try
            {
                return (Info: (ServiceInfo?)await manager.StartAsync(spec, null, SupervisorHarness.Token), Error: (Exception?)null);
            }
            catch (StabilityException ex)
            {
                return (Info: (ServiceInfo?)null, Error: (Exception?)ex);
            }
        })).ToList();
        var results = await Task.WhenAll(starts);

        var winner = Assert.Single(results, r => r.Error is null);
        Assert.All(results.Where(r => r.Error is not null), r => Assert.IsType<ServiceAlreadyRunningException>(r.Error));
        Assert.Equal(ServiceState.Running, winner.Info!.State);
        var supervisors = h.ProcessesOfThisTest().Where(pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("--service\0twin", StringComparison.Ordinal)).ToList();
        Assert.Equal([winner.Info.SupervisorPid], supervisors);
        Assert.Equal([winner.Info.Pid], ProcessTable.Children(winner.Info.SupervisorPid));
    }
}
