using System.Runtime.InteropServices;

namespace StabilityTools.Reporting;

/// <summary>
/// SIGTERM and SIGINT turned into a cancellation token: a supervisor's stop (SIGTERM) or a Ctrl+C asks the training loop
/// to finish its step, checkpoint and exit, instead of killing it mid-write.
/// </summary>
/// <remarks>
/// The runtime's default action for these signals (ending the process) is cancelled while this object lives; disposing it
/// restores that. The first signal wins <see cref="Signal"/>; later ones only cancel again.
/// </remarks>
public sealed class StopSignals : IDisposable
{
    /// <summary>The exit code of a process stopped by SIGTERM (128 + 15), as the built-in trainer's.</summary>
    public const int TerminatedExitCode = 143;

    /// <summary>The exit code of a process stopped by SIGINT (128 + 2).</summary>
    public const int InterruptedExitCode = 130;

    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;
    private int _signal;

    private StopSignals()
    {
        _term = Register(PosixSignal.SIGTERM, 15);
        _interrupt = Register(PosixSignal.SIGINT, 2);
    }

    /// <summary>Starts turning SIGTERM and SIGINT into <see cref="Token"/>.</summary>
    public static StopSignals Install() => new();

    /// <summary>Cancelled by the first SIGTERM or SIGINT, or by <see cref="RequestStop"/>.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The signal that asked for the stop (15 for SIGTERM, 2 for SIGINT); 0 when none did.</summary>
    public int Signal => Volatile.Read(ref _signal);

    /// <summary>What the process should exit with after a graceful stop: 128 + the signal (143 without one), so a
    /// supervisor never takes a stop for a completion.</summary>
    public int ExitCode => Signal switch { 2 => InterruptedExitCode, 0 => TerminatedExitCode, var s => 128 + s };

    /// <summary>Asks for a stop as SIGTERM does (from code: a notebook, a test, another thread).</summary>
    public void RequestStop() => _source.Cancel();

    /// <inheritdoc />
    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
        _source.Dispose();
    }

    private PosixSignalRegistration Register(PosixSignal signal, int number) => PosixSignalRegistration.Create(signal, context =>
    {
        // Finish the step in progress, checkpoint, write the final status, then exit: never die mid-write.
        context.Cancel = true;
        Interlocked.CompareExchange(ref _signal, number, 0);
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // A signal after the run ended: nothing left to stop.
        }
    });
}
