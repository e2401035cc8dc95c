using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Reporting;

/// <summary>
/// Durable writes (checkpoints, the final model, <c>run.json</c>) that wait out a full disk instead of failing the run.
/// </summary>
/// <remarks>
/// A write that fails with ENOSPC or EDQUOT leaves nothing torn (every such write goes through a temporary file that is
/// removed on failure), so training pauses: a <c>disk_full</c> event and a <c>paused</c> status are handed to the status
/// publisher (written once there is room: its failed writes are retried), and the write is retried with a delay that
/// grows from 1 s to <see cref="MaxDelay"/>, until it succeeds (then a <c>disk_space_recovered</c> event and training
/// goes on, having lost nothing) or a stop is requested (then the run resumes later from its last durable checkpoint,
/// losing at most one checkpoint interval). Any other failure is thrown as before.
/// </remarks>
/// <param name="publisher">Where the events and the <c>paused</c> status go.</param>
/// <param name="stop">Ends a pause.</param>
/// <param name="events">The events' service name; default <see cref="TrainerEvents.Default"/>.</param>
internal sealed class DiskFullPause(StatusPublisher publisher, CancellationToken stop, TrainerEvents? events = null)
{
    /// <summary>The longest wait between two attempts.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>Times a write found the disk full (one per pause).</summary>
    public int Pauses { get; private set; }

    /// <summary>Runs <paramref name="write"/> until it succeeds, pausing while the disk is full.</summary>
    /// <param name="write">The write; it must leave nothing behind when it fails.</param>
    /// <param name="what">What is written, for the events ("checkpoint ckpt-e00003-b000000.ckpt").</param>
    /// <param name="onResume">Called after a pause, once the write succeeded (to report <c>running</c> again).</param>
    /// <exception cref="OperationCanceledException">A stop was requested while paused; nothing more was written.</exception>
    public T Run<T>(Func<T> write, string what, Action? onResume = null)
    {
        Stopwatch? paused = null;
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                var result = write();
                if (paused is not null)
                {
                    publisher.Enqueue(Event("disk_space_recovered", EventSeverity.Info,
                        $"Disk space returned after {paused.Elapsed.TotalSeconds:0.#} s: {what} was written and training continues; nothing was lost.",
                        new Dictionary<string, string> { ["paused_seconds"] = paused.Elapsed.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) }));
                    onResume?.Invoke();
                }

                return result;
            }
            catch (Exception ex) when (IoErrors.IsDiskFull(ex))
            {
                if (paused is null)
                {
                    paused = Stopwatch.StartNew();
                    Pauses++;
                    publisher.Enqueue(Event("disk_full", EventSeverity.Error,
                        $"The state directory's file system is full: {what} could not be written ({ex.Message}). Training is paused and retries every few seconds; free space and it continues.",
                        new Dictionary<string, string> { ["what"] = what }));
                    if (publisher.Latest is { } latest)
                    {
                        publisher.Report(latest with { State = TrainerState.Paused, ErrorMessage = "The disk is full; training is paused until space returns.", LastUpdate = DateTimeOffset.UtcNow });
                    }

                    Console.Error.WriteLine($"stability-trainer: disk full writing {what}; paused until space returns.");
                }

                if (stop.WaitHandle.WaitOne(delay))
                {
                    throw new OperationCanceledException("Stopped while paused on a full disk.", ex, stop);
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    private StabilityEvent Event(string type, EventSeverity severity, string message, IReadOnlyDictionary<string, string> data) =>
        (events ?? TrainerEvents.Default).Create(type, severity, message, data);
}
