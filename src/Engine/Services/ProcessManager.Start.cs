// Overview: a start runs under services/<name>/start.lock, from its first look at the service until it returns, so two
// starts of one name (two runspaces, two sessions) are one after the other: the second sees the first's live
// supervisor and is refused, instead of both deleting status.json and launching supervisors that race for the
// supervisor lock. Starts of different names share nothing but locked appends, so a batch runs them all at once.
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>Starting services: one, or many at once.</summary>
public sealed partial class ProcessManager
{
    /// <summary>The longest wait for another start of the same service (<c>start.lock</c>) to finish.</summary>
    private static readonly TimeSpan StartLockTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Starts a service: validates the spec, refuses when a live supervisor already runs it, ends what a dead
    /// supervisor left running, writes <c>spec.json</c>, launches the supervisor and waits until the service is
    /// <c>running</c> (or <c>completed</c>). On any failure nothing of it is left running.
    /// </summary>
    /// <exception cref="ConfigurationException">The spec is invalid; every problem is listed.</exception>
    /// <exception cref="ServiceAlreadyRunningException">A live supervisor runs the service already.</exception>
    /// <exception cref="ResourceConflictException">A dashboard's port is in use, or a GPU the service needs is held exclusively by another.</exception>
    /// <exception cref="ServiceStartException">The service did not reach <c>running</c>; the message holds the tail of its log.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the half-started service was stopped.</exception>
    public Task<ServiceInfo> StartAsync(ServiceSpec spec, IProgress<string>? progress = null, CancellationToken cancellationToken = default) =>
        StartAsync(spec, wait: true, progress, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(ServiceSpec, IProgress{string}?, CancellationToken)"/>; with <paramref name="wait"/>
    /// false it returns as soon as the supervisor runs (its <c>status.json</c> names it), without waiting for the
    /// service's readiness.
    /// </summary>
    public Task<ServiceInfo> StartAsync(ServiceSpec spec, bool wait, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return StartOneAsync(spec, wait, progress, cancellationToken);
    }

    /// <summary>
    /// Starts every spec at once (all supervisors launched, then each waited for, each until its own readiness, or
    /// with <paramref name="wait"/> false until its supervisor runs). One service's failure is its outcome's error
    /// (nothing of it is left running); the others still start.
    /// </summary>
    /// <returns>One outcome per spec, in their order.</returns>
    /// <exception cref="ArgumentException">Two specs have the same name.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; every start still under way was undone.</exception>
    public Task<IReadOnlyList<ServiceOutcome>> StartManyAsync(IReadOnlyList<ServiceSpec> specs, bool wait = true, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(specs);
        return ForEachServiceAsync(specs.Select(s => s.Name).ToList(),
            (manager, name) => manager.StartAsync(specs.First(s => s.Name == name), wait, progress, cancellationToken), cancellationToken);
    }

    /// <summary>Stops every named service at once (see <see cref="StopAsync"/>); one's failure is its outcome's error.</summary>
    /// <returns>One outcome per name, in their order.</returns>
    /// <exception cref="ArgumentException">A name is given twice.</exception>
    public Task<IReadOnlyList<ServiceOutcome>> StopManyAsync(IReadOnlyList<string> names, TimeSpan? timeout = null, bool force = false, IProgress<string>? progress = null, CancellationToken cancellationToken = default) =>
        ForEachServiceAsync(names, (manager, name) => manager.StopAsync(name, timeout, force, progress, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs <paramref name="action"/> for every name at once and waits for all. The action gets a manager of this state
    /// directory whose waits poll less often the more services wait together (10 services: every 20 ms, 50: every
    /// 100 ms), so that fifty waits do not read fifty status files a hundred times a second each.
    /// </summary>
    /// <returns>One outcome per name, in their order: the action's result, or the <see cref="StabilityException"/> or <see cref="ArgumentException"/> it threw.</returns>
    /// <exception cref="ArgumentException">A name is given twice.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (after every action ended).</exception>
    public async Task<IReadOnlyList<ServiceOutcome>> ForEachServiceAsync(IReadOnlyList<string> names, Func<ProcessManager, string, Task<ServiceInfo>> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(action);
        if (names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"The service '{twice.Key}' is named more than once; name each service once.", nameof(names));
        }

        var manager = names.Count <= 1 ? this : new ProcessManager(State, _launcher, _options.WithPollInterval(BatchPollInterval(_options.PollInterval, names.Count)));
        var runs = names.Select(name => Task.Run(async () =>
        {
            try
            {
                return new ServiceOutcome(name, await action(manager, name).ConfigureAwait(false), null);
            }
            catch (Exception ex) when (ex is StabilityException or ArgumentException)
            {
                return new ServiceOutcome(name, null, ex);
            }
        }, CancellationToken.None)).ToList();
        await Task.WhenAll(runs).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return runs.Select(r => r.Result).ToList();
    }

    /// <summary>The poll interval of <paramref name="count"/> waits together: the single one's, growing with the count, at most 100 ms.</summary>
    internal static TimeSpan BatchPollInterval(TimeSpan single, int count) =>
        TimeSpan.FromTicks(Math.Clamp(single.Ticks * count / 5, single.Ticks, Math.Max(single.Ticks, TimeSpan.FromMilliseconds(100).Ticks)));

    private async Task<ServiceInfo> StartOneAsync(ServiceSpec spec, bool wait, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var name = spec.Name;
        State.EnsureServiceDirectory(name);
        using var startLock = await Task.Run(() => FileLock.Acquire(StartLockPath(State, name), StartLockTimeout, cancellationToken), cancellationToken).ConfigureAwait(false);
        var existing = ReadStatus(name);
        if (LiveSupervisor(existing.Document) is { } live)
        {
            throw new ServiceAlreadyRunningException(name, live);
        }

        var backend = BackendFor(spec);
        if (backend.UnfinishedJob(name) is { } job)
        {
            throw new ServiceAlreadyRunningException(name, job.JobId, job.State);
        }

        await ProbeSupervisorLockAsync(name, existing.Document, cancellationToken).ConfigureAwait(false);

        if (existing.Document is { } old)
        {
            EndOrphanedService(old);
        }

        if (spec.Port is { } port && spec.FatalExitCodes.Contains(ServiceSpec.PortInUseExitCode) && !PortIsFree(spec, port))
        {
            // Checked before anything is launched: a health probe on a port that another process holds would be
            // answered by that other process, and the new service would look healthy until it gave up on the port.
            throw new ResourceConflictException($"port {port}",
                $"The service '{name}' could not start: port {port} is in use by another process. Stop that process, or start '{name}' on another port (-Port).")
            { Service = name };
        }

        backend.PrepareResources(spec, progress);

        // A fresh start: the old status and any unanswered request belong to the previous run. The status of a
        // supervisor that was killed at its post is handed to the new one, which reports that it replaced it.
        _store.Delete(State.ServiceControlPath(name), cancellationToken);
        if (Liveness.SupervisorDiedAtItsPost(existing.Document))
        {
            _store.Write(State.ServicePreviousStatusPath(name), existing.Document!, cancellationToken);
        }

        _store.Delete(State.ServiceStatusPath(name), cancellationToken);
        spec = PrepareRun(spec);
        _store.Write(State.ServiceSpecPath(name), spec, cancellationToken);
        progress?.Report(spec.Slurm is null ? $"Launching the supervisor of '{name}'." : $"Submitting the supervisor of '{name}' as a Slurm job.");

        var launch = await backend.LaunchAsync(State, name, cancellationToken).ConfigureAwait(false);
        if (launch.JobId is { } jobId)
        {
            // A cluster job starts when the scheduler says, which may be hours away: the start is done once it is queued.
            progress?.Report($"'{name}' is Slurm job {jobId}.");
            launch.Dispose();
            return GetStatus(name);
        }

        try
        {
            return await WaitForStartAsync(spec, launch, wait, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StabilityException or OperationCanceledException)
        {
            await EnsureGoneAsync(name, launch.Pid).ConfigureAwait(false);
            throw;
        }
        finally
        {
            launch.Dispose();
        }
    }

    /// <summary><c>services/&lt;name&gt;/start.lock</c>: held by a start of the service from its first look until it returns.</summary>
    internal static string StartLockPath(State.StateDirectory state, string name) => Path.Combine(state.ServiceDirectory(name), "start.lock");
}
