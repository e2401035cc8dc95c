using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.State;

namespace StabilityTools.Cmdlets;

/// <summary>
/// The base of every StabilityTools cmdlet: the common <c>-StateDirectory</c> parameter, a cancellation token that
/// <see cref="StopProcessing"/> (Ctrl+C) cancels, and the mapping of engine exceptions to error records with stable ids.
/// Cmdlets stay thin: they map parameters to one engine call and write what comes back.
/// </summary>
public abstract class StabilityCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private bool _healed;

    /// <summary>
    /// The state directory. Default: <c>$env:STABILITY_HOME</c>, else <c>$XDG_STATE_HOME/stability-tools</c>
    /// (<c>~/.local/state/stability-tools</c>) on Linux, <c>%LOCALAPPDATA%\StabilityTools</c> on Windows.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken CancellationToken => _stopping.Token;

    /// <summary>The state directory's path, resolved against the session's current location.</summary>
    protected string? ResolvedStateDirectory => StateDirectory is null
        ? null
        : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StateDirectory);

    /// <summary>
    /// The state directory, created when missing (for cmdlets that write); <paramref name="pipedRoot"/>, the
    /// <c>StateRoot</c> of piped services, is used when -StateDirectory is not given.
    /// </summary>
    /// <remarks>A directory that cannot be used ends the call with a terminating error carrying the exception's id.</remarks>
    protected StateDirectory OpenStateDirectory(string? pipedRoot = null)
    {
        try
        {
            return Heal(StateDirectory is null && pipedRoot is not null
                ? Announce(Engine.State.StateDirectory.Open(pipedRoot), "the piped services' StateRoot")
                : Announce(Engine.State.StateDirectory.Open(ResolvedStateDirectory)));
        }
        catch (StateDirectoryException ex)
        {
            ThrowStabilityError(ex, ex.Path);
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>
    /// The state directory without creating anything (for cmdlets that only read or act on existing services).
    /// <paramref name="pipedRoot"/>, the <c>StateRoot</c> of piped services, is used when -StateDirectory is not given.
    /// </summary>
    /// <exception cref="StateDirectoryException">It exists but is not safe to use (<c>StateDirectoryUntrusted</c>), unless <paramref name="verify"/> is false.</exception>
    protected StateDirectory LocateStateDirectory(string? pipedRoot = null, bool verify = true)
    {
        var state = StateDirectory is null && pipedRoot is not null
            ? Announce(Engine.State.StateDirectory.Locate(pipedRoot), "the piped services' StateRoot")
            : Announce(Engine.State.StateDirectory.Locate(ResolvedStateDirectory));
        if (verify && state.Exists)
        {
            try
            {
                // The first use of a directory of the layout before runs moves it (runs/<run_id>/) before anything reads it.
                state.EnsureTrusted().MigrateLayoutIfNeeded();
            }
            catch (StateDirectoryException ex)
            {
                ThrowStabilityError(ex, ex.Path);
            }

            Heal(state);
        }

        return state;
    }

    /// <summary>
    /// Whether this command takes back services whose supervisor died before it acts (<see cref="Heal"/>): every command
    /// but a start, which starts its service afresh (ending what its dead supervisor left running) as it always did.
    /// </summary>
    protected virtual bool HealsFirst => true;

    /// <summary>
    /// Supervision heals itself on every command (issue #22): a service whose supervisor died while it ran gets a
    /// replacement that takes the running process back (same pid, nothing of its output lost) before this command looks
    /// at it. Once per call; what could not be healed is a warning, never this command's failure.
    /// </summary>
    private StateDirectory Heal(StateDirectory state)
    {
        if (_healed || !state.Exists || !HealsFirst)
        {
            return state;
        }

        _healed = true;
        IReadOnlyList<Engine.Services.ServiceOutcome> outcomes;
        try
        {
            outcomes = Task.Run(() => new Engine.Services.ProcessManager(state).HealSupervisorsAsync(CancellationToken), CancellationToken).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is StabilityException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            WriteVerbose($"Could not check for services whose supervisor died: {ex.Message}");
            return state;
        }

        // The scanner replaces a supervisor that dies from now on, within a second, with no command needed.
        Engine.Services.SupervisionScanner.EnsureRunning(state);
        foreach (var outcome in outcomes)
        {
            if (outcome.Error is null)
            {
                WriteVerbose($"'{outcome.Name}' had lost its supervisor; a new one (pid {outcome.Info?.SupervisorPid}) took pid {outcome.Info?.Pid} back without restarting it.");
            }
            else
            {
                WriteWarning($"'{outcome.Name}' has lost its supervisor and could not be taken back: {outcome.Error.Message} Start it again to end it and start afresh.");
            }
        }

        return state;
    }

    // Which state directory a call uses is the first thing to know when it does not see what you expect.
    private StateDirectory Announce(StateDirectory state, string? source = null)
    {
        source ??= StateDirectory is not null ? "-StateDirectory"
            : System.Environment.GetEnvironmentVariable(Engine.State.StateDirectory.HomeVariable) is { Length: > 0 } ? "$env:" + Engine.State.StateDirectory.HomeVariable
            : "the default";
        WriteVerbose($"State directory: {state.Root} ({source}{(state.Exists ? "" : ", does not exist yet")}).");
        return state;
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>Builds an error record with the exception's stable id and a fitting category.</summary>
    protected static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        var (id, category) = exception switch
        {
            StateDirectoryException { ErrorId: StateDirectoryException.UntrustedErrorId } e => (e.ErrorId, ErrorCategory.SecurityError),
            StatusWriteException { IsUnsafeFile: true } e => (e.ErrorId, ErrorCategory.SecurityError),
            UnsafeFileException => (UnsafeFileException.ErrorId, ErrorCategory.SecurityError),
            ConfigurationException e => (e.ErrorId, ErrorCategory.InvalidData),
            ServiceNotFoundException e => (e.ErrorId, ErrorCategory.ObjectNotFound),
            ServiceStartException e => (e.ErrorId, ErrorCategory.InvalidResult),
            ResourceConflictException e => (e.ErrorId, ErrorCategory.ResourceBusy),
            StateDirectoryException e => (e.ErrorId, ErrorCategory.WriteError),
            LockTimeoutException e => (e.ErrorId, ErrorCategory.ResourceBusy),
            StatusWriteException e => (e.ErrorId, ErrorCategory.WriteError),
            CorruptDocumentException e => (e.ErrorId, ErrorCategory.InvalidData),
            ProcessCommunicationException e => (e.ErrorId, ErrorCategory.ConnectionError),
            AsyncOperationException e => (e.ErrorId, ErrorCategory.OperationTimeout),
            SchedulerException e => (e.ErrorId, ErrorCategory.ResourceUnavailable),
            TrainerNotInstalledException e => (e.ErrorId, ErrorCategory.NotInstalled),
            StabilityException e => (e.ErrorId, ErrorCategory.NotSpecified),
            ArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
            OperationCanceledException => ("OperationStopped", ErrorCategory.OperationStopped),
            _ => ("UnexpectedError", ErrorCategory.NotSpecified),
        };
        return new ErrorRecord(exception, id, category, target);
    }

    /// <summary>Ends the whole call with <paramref name="exception"/> as a terminating error.</summary>
    protected void ThrowStabilityError(Exception exception, object? target) => ThrowTerminatingError(ToErrorRecord(exception, target));

    /// <summary>Reports one bad item and goes on with the rest.</summary>
    protected void WriteStabilityError(Exception exception, object? target) => WriteError(ToErrorRecord(exception, target));

    /// <summary>Disposes the cancellation source.</summary>
    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
