using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// The client side of supervision (the seed's ProcessManager): starts, stops and restarts services through their
/// supervisors, and reads their status, events and logs, all through the state directory, so any session sees
/// what another started. No PowerShell types; every wait is bounded and honours its <see cref="CancellationToken"/>.
/// </summary>
public sealed partial class ProcessManager
{
    private readonly ProcessManagerOptions _options;
    private readonly IServiceLauncher? _launcher;
    private readonly StatusStore _store;
    private readonly JsonLinesLog<StabilityEvent> _events;
    private readonly ServiceLogReader _logs;
    private readonly LocalBackend _local;
    private readonly SlurmBackend _slurmBackend;
    private SlurmClient? _slurm;
    private IServiceLauncher? _slurmLauncher;

    /// <summary>Creates a manager over <paramref name="state"/>.</summary>
    /// <param name="state">The state directory.</param>
    /// <param name="launcher">Where supervisors run; default <see cref="LocalLauncher"/>.</param>
    /// <param name="options">Timeouts and clock; default <see cref="ProcessManagerOptions.Default"/>.</param>
    public ProcessManager(StateDirectory state, IServiceLauncher? launcher = null, ProcessManagerOptions? options = null)
    {
        State = state ?? throw new ArgumentNullException(nameof(state));
        _launcher = launcher;
        _options = (options ?? ProcessManagerOptions.Default).Validate();
        _store = new StatusStore(_options.StoreOptions);
        _events = new JsonLinesLog<StabilityEvent>(state.EventsLogPath);
        _logs = new ServiceLogReader(state, _options.TimeProvider);
        _local = new LocalBackend(launcher ?? new LocalLauncher(), state, _store);
        // The backends live here, beside the seam they implement; only the scheduler's command-line client is a layer
        // of its own (Engine.Slurm) below, so Services uses Slurm and nothing in Slurm reaches back (docs/ARCHITECTURE.md).
        _slurmBackend = new SlurmBackend(this, _store, _events, _options.TimeProvider,
            () => _slurm ??= _options.Slurm ?? new SlurmClient(),
            () => _slurmLauncher ??= _options.SlurmLauncher ?? new SlurmLauncher(_slurm ??= _options.Slurm ?? new SlurmClient()));
    }

    /// <summary>The state directory.</summary>
    public StateDirectory State { get; }

    /// <summary>Where the service's supervisor runs: this machine, or a Slurm job when the spec says so.</summary>
    private IServiceBackend BackendFor(ServiceSpec? spec) => spec?.Slurm is null ? _local : _slurmBackend;

    /// <summary><c>services/&lt;name&gt;/supervisor.lock</c>: held by the live supervisor for its whole life, so there are never two.</summary>
    public static string SupervisorLockPath(StateDirectory state, string name) => Path.Combine(state.ServiceDirectory(name), "supervisor.lock");

    /// <summary>The current file of a service's log.</summary>
    public static string LogPath(StateDirectory state, string name, ServiceLogStream stream) => ServiceLogReader.LogPath(state, name, stream);

    /// <summary>True when a service of that name has a spec here.</summary>
    public bool Exists(string name) =>
        StateDirectory.IsValidServiceName(name) && File.Exists(State.ServiceSpecPath(name));

    /// <summary>The names of every service that has a spec here, sorted.</summary>
    public IReadOnlyList<string> ListServices() => State.ListServices().Where(n => File.Exists(State.ServiceSpecPath(n))).ToList();

    /// <summary>Reads a service's spec.</summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ConfigurationException">The spec is unreadable.</exception>
    public ServiceSpec GetSpec(string name)
    {
        RequireValidName(name);
        var result = _store.Read<ServiceSpec>(State.ServiceSpecPath(name));
        if (result.OwnerUid is { } owner && !SafeFile.IsTrustedOwner(owner))
        {
            // What a spec says is run as its supervisor's user: one someone else wrote is never acted on.
            throw new ConfigurationException(new ConfigurationProblem(result.Path, null, null,
                $"The spec is owned by {SafeFile.UserName(owner)} (uid {owner}), not by you or root: someone else wrote it. Remove it (after looking at it), then start the service again.")) { Service = name };
        }

        return result.State switch
        {
            ReadState.Ok or ReadState.Stale => result.Document!,
            ReadState.Missing => throw new ServiceNotFoundException(name, State.Root),
            _ => throw new ConfigurationException(new ConfigurationProblem(result.Path, null, null,
                $"The spec is {StatusJson.WireName(result.State)}: {result.Error}. Start the service again to rewrite it.")) { Service = name },
        };
    }

    /// <summary>Judges one service's status now.</summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    public ServiceInfo GetStatus(string name)
    {
        RequireValidName(name);
        if (!Exists(name))
        {
            throw new ServiceNotFoundException(name, State.Root);
        }

        return Judge(name, ReadStatus(name));
    }

    /// <summary>Judges every service's status now, sorted by name.</summary>
    public IReadOnlyList<ServiceInfo> GetStatuses() => ListServices().Select(n => Judge(n, ReadStatus(n))).ToList();

    /// <summary>
    /// Stops a service: asks its supervisor (graceful signal to the group, <paramref name="timeout"/>, then kill of the
    /// whole tree) and waits until it is <c>stopped</c>. A service whose supervisor is gone is killed directly.
    /// Stopping a stopped service succeeds.
    /// </summary>
    /// <param name="name">The service.</param>
    /// <param name="timeout">The graceful wait; null uses the spec's <c>stop_timeout_ms</c> (10 s).</param>
    /// <param name="force">Kill at once, without the graceful signal; also kills a supervisor that does not answer.</param>
    /// <param name="progress">Receives progress messages.</param>
    /// <param name="cancellationToken">Cancels the wait (the stop itself goes on in the supervisor).</param>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ProcessCommunicationException">The supervisor did not answer and <paramref name="force"/> was not given.</exception>
    public async Task<ServiceInfo> StopAsync(string name, TimeSpan? timeout = null, bool force = false, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ServiceSpec spec;
        try
        {
            spec = GetSpec(name);
        }
        catch (ConfigurationException) when (Exists(name))
        {
            // A corrupt spec, or one someone else wrote, must never keep the owner from stopping the service: a
            // stop needs nothing from it but timeouts, and the defaults serve.
            progress?.Report($"The spec of '{name}' cannot be used; stopping it with the default timeouts.");
            spec = ServiceSpec.ForKind(ServiceKind.Program, name, "");
        }

        if (await BackendFor(spec).TryStopAsync(name, spec, timeout, force, progress, cancellationToken).ConfigureAwait(false))
        {
            return GetStatus(name);
        }

        var status = ReadStatus(name).Document;
        var supervisor = LiveSupervisorIdentity(status);
        if (supervisor?.Pid is { } supervisorPid)
        {
            var graceful = timeout ?? spec.StopTimeout;
            var request = ControlRequest.Create(ControlCommand.Stop, _options.TimeProvider, graceful, force);
            progress?.Report($"Asking the supervisor of '{name}' (pid {supervisorPid}) to stop it.");
            try
            {
                await SendAsync(name, request, cancellationToken).ConfigureAwait(false);
                var bound = (force ? TimeSpan.Zero : graceful) + TimeSpan.FromSeconds(10);
                await WaitForAsync(name, s => s?.Status is ServiceState.Stopped || LiveSupervisor(s) is null, bound,
                    $"The supervisor of '{name}' did not finish stopping it within {bound.TotalSeconds:0} s.", cancellationToken).ConfigureAwait(false);
            }
            catch (ProcessCommunicationException) when (force)
            {
                progress?.Report($"The supervisor of '{name}' did not answer; killing it and its service.");
            }

            // The supervisor ends right after it wrote 'stopped' (it removes its cgroup last): wait for that, so that
            // when this returns nothing of the service is left, its supervisor included.
            var deadline = _options.TimeProvider.GetUtcNow() + TimeSpan.FromSeconds(5);
            while (supervisor.Value.IsAlive() && _options.TimeProvider.GetUtcNow() < deadline)
            {
                await Task.Delay(_options.PollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }

        await EnsureGoneAsync(name, null).ConfigureAwait(false);
        return GetStatus(name);
    }

    /// <summary>
    /// Restarts a service: a running one through its supervisor (stop, start at once, circuit closed); a stopped,
    /// completed, fatal or unknown one by starting it again from its spec. Waits until it is <c>running</c>.
    /// </summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ServiceStartException">It did not come back up; the message holds the tail of its log.</exception>
    public async Task<ServiceInfo> RestartAsync(string name, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var spec = GetSpec(name);
        var before = ReadStatus(name).Document;
        if (LiveSupervisor(before) is null && BackendFor(spec).UnfinishedJob(name) is { } job)
        {
            // Queued, or on a node and not up yet: there is nothing to restart, and a second job would be a duplicate.
            progress?.Report($"'{name}' is Slurm job {job.JobId} ({job.State.ToLowerInvariant()}): not up yet, nothing to restart.");
            return GetStatus(name);
        }

        if (LiveSupervisor(before) is null)
        {
            progress?.Report($"'{name}' has no live supervisor; starting it again.");
            return await StartAsync(spec, progress, cancellationToken).ConfigureAwait(false);
        }

        var request = ControlRequest.Create(ControlCommand.Restart, _options.TimeProvider);
        progress?.Report($"Asking the supervisor of '{name}' to restart it.");
        await SendAsync(name, request, cancellationToken).ConfigureAwait(false);
        var bound = spec.StopTimeout + TimeSpan.FromMilliseconds(spec.StartupGraceMs) + _options.StartTimeout;
        var done = await WaitForAsync(name,
            s => s is not null && (s.Status is ServiceState.Running or ServiceState.Completed or ServiceState.Fatal or ServiceState.Backoff
                                   && s.Pid != before!.Pid) || LiveSupervisor(s) is null,
            bound, $"'{name}' did not come back up within {bound.TotalSeconds:0} s.", cancellationToken).ConfigureAwait(false);
        if (done?.Status is not (ServiceState.Running or ServiceState.Completed))
        {
            throw new ServiceStartException(name, Judge(name, ReadStatus(name)).ErrorMessage ?? "it did not come back up.", LogTail(name, 20));
        }

        return Judge(name, ReadStatus(name));
    }

    /// <summary>Sends a control request and waits for the supervisor's acknowledgement.</summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ProcessCommunicationException">No live supervisor, or no acknowledgement within <see cref="ProcessManagerOptions.ControlTimeout"/>.</exception>
    public async Task<ControlAck> SendAsync(string name, ControlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Exists(name))
        {
            throw new ServiceNotFoundException(name, State.Root);
        }

        if (LiveSupervisorIdentity(ReadStatus(name).Document) is not { } supervisor)
        {
            throw new ProcessCommunicationException($"'{name}' has no live supervisor to send '{request.Command}' to. Start it first.") { Service = name };
        }

        RemoveForeignControlFile(name);
        _store.Write(State.ServiceControlPath(name), request, cancellationToken);
        // Done at the acknowledgement, or when the supervisor's process is gone: not when one read of status.json
        // finds no document, which a loaded machine can give for a moment and which says nothing of the supervisor.
        bool Acknowledged(ProcessStatus? s) => s?.LastControl?.RequestId == request.RequestId;
        var status = await WaitForAsync(name, s => Acknowledged(s) || !supervisor.IsAlive(),
            _options.ControlTimeout,
            $"The supervisor of '{name}' did not acknowledge '{request.Command}' within {_options.ControlTimeout.TotalSeconds:0.#} s. " +
            "It may be stuck: run the command again with -Force.", cancellationToken).ConfigureAwait(false);
        // A supervisor that acknowledged and then ended at once (a stop) left its last word in status.json.
        status = Acknowledged(status) ? status : ReadStatus(name).Document;
        return Acknowledged(status)
            ? status!.LastControl!
            : throw new ProcessCommunicationException($"The supervisor of '{name}' ended before it acknowledged '{request.Command}'.") { Service = name };
    }

    /// <summary>An audit event recorded by this process (a caller's cmdlet), stamped with its pid, user and host.</summary>
    private void AppendEvent(string service, string type, EventSeverity severity, string message, IReadOnlyDictionary<string, string>? data = null) =>
        _events.Append(new StabilityEvent
        {
            Time = _options.TimeProvider.GetUtcNow(), Service = service, Type = type, Severity = severity, Message = message,
            Pid = Environment.ProcessId, User = Environment.UserName, Host = Environment.MachineName, Data = data,
        });

    /// <summary>Reads events, oldest first, optionally only of one service, since a time, of one type.</summary>
    public IReadOnlyList<StabilityEvent> GetEvents(string? name = null, DateTimeOffset? since = null, string? type = null) =>
        _events.ReadAll().Records
            .Where(e => name is null || e.Service == name)
            .Where(e => since is null || e.Time >= since)
            .Where(e => type is null || string.Equals(e.Type, type, StringComparison.OrdinalIgnoreCase))
            .ToList();

    /// <summary>
    /// The rates and trends of every service here (<see cref="ServiceRates"/>), from one read of <c>events.jsonl</c>,
    /// keyed by name; windows end now (<see cref="ProcessManagerOptions.TimeProvider"/>).
    /// </summary>
    public IReadOnlyDictionary<string, ServiceRates> GetRates() =>
        ServiceRates.Build(_events.ReadAll().Records, _options.TimeProvider.GetUtcNow(), ListServices());

    /// <summary>
    /// <paramref name="info"/> with its <see cref="ServiceInfo.Rates"/> taken from <paramref name="rates"/> (from
    /// <see cref="GetRates"/>); zeros for a service without events.
    /// </summary>
    public static ServiceInfo WithRates(ServiceInfo info, IReadOnlyDictionary<string, ServiceRates> rates)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(rates);
        return info with { Rates = RatesOf(info.Name, rates) };
    }

    /// <summary>
    /// <paramref name="info"/> with its rates read from <paramref name="rates"/> the first time they are looked at (one
    /// read of <c>events.jsonl</c> shared by every service of a call); null rates when that read fails.
    /// </summary>
    public static ServiceInfo WithRates(ServiceInfo info, Lazy<IReadOnlyDictionary<string, ServiceRates>?> rates)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(rates);
        return info with { RatesSource = () => rates.Value is { } all ? RatesOf(info.Name, all) : null };
    }

    private static ServiceRates RatesOf(string service, IReadOnlyDictionary<string, ServiceRates> rates) =>
        rates.GetValueOrDefault(service) ?? new ServiceRates { Service = service, At = rates.Values.FirstOrDefault()?.At ?? DateTimeOffset.UtcNow };

    /// <summary>The last <paramref name="lines"/> lines of a service's log, across its newest rotated file when needed.</summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    public IReadOnlyList<string> ReadLog(string name, int lines, ServiceLogStream stream = ServiceLogStream.Stdout)
    {
        RequireValidName(name);
        return Exists(name) ? _logs.Tail(name, lines, stream) : throw new ServiceNotFoundException(name, State.Root);
    }

    /// <summary>
    /// The lines of a service's log that <paramref name="query"/> asks for, across all its rotated files, oldest first
    /// (<see cref="ServiceLogSearch"/>); lazy without a tail.
    /// </summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ArgumentException">The query is invalid.</exception>
    public IEnumerable<string> SearchLog(string name, ServiceLogQuery query, ServiceLogStream stream = ServiceLogStream.Stdout)
    {
        RequireValidName(name);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return Exists(name) ? _logs.Search(name, query, stream) : throw new ServiceNotFoundException(name, State.Root);
    }

    /// <summary>
    /// What <see cref="SearchLog"/> finds, then every new line of the log that matches <paramref name="query"/>, as it is
    /// written, following rotations, until cancelled.
    /// </summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    /// <exception cref="ArgumentException">The query is invalid, or has an end (<see cref="ServiceLogQuery.Until"/>).</exception>
    public IAsyncEnumerable<string> FollowLogAsync(string name, ServiceLogQuery query, ServiceLogStream stream = ServiceLogStream.Stdout, CancellationToken cancellationToken = default)
    {
        RequireValidName(name);
        return Exists(name) ? _logs.FollowAsync(name, query, stream, cancellationToken) : throw new ServiceNotFoundException(name, State.Root);
    }

    /// <summary>
    /// The last <paramref name="tail"/> lines of a service's log, then every new line as it is written, following
    /// rotations, until cancelled.
    /// </summary>
    /// <exception cref="ServiceNotFoundException">There is no such service.</exception>
    public IAsyncEnumerable<string> FollowLogAsync(string name, int tail, ServiceLogStream stream = ServiceLogStream.Stdout, CancellationToken cancellationToken = default)
    {
        RequireValidName(name);
        return Exists(name) ? _logs.FollowAsync(name, tail, stream, cancellationToken) : throw new ServiceNotFoundException(name, State.Root);
    }

    /// <summary>The tail of a service's stderr and stdout, for error messages.</summary>
    public string LogTail(string name, int lines) => _logs.ErrorTail(name, lines);

    private static void RequireValidName(string name)
    {
        if (!StateDirectory.IsValidServiceName(name))
        {
            throw new ConfigurationException(new ConfigurationProblem(null, null, "name",
                $"'{name}' is not a valid service name: use 1 to 63 characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.")) { Service = name };
        }
    }
}
