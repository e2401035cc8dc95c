namespace StabilityTools.Reporting;

/// <summary>
/// Observation points on the <see cref="StatusPublisher"/>'s writer thread, for benchmarks that measure what status
/// writing costs (bench/Trainer); the trainer executable uses none.
/// </summary>
internal sealed record StatusWriterHooks
{
    /// <summary>Runs the writer thread's whole body, on that thread (a benchmark wraps it to find the thread).</summary>
    public Action<Action>? Thread { get; init; }

    /// <summary>Runs one write round, on the writer thread. A wrapper that does not call the round skips it (its
    /// reports pile up, latest wins), as a benchmark does to compare training with and without status writing.</summary>
    public Action<Action>? Round { get; init; }
}
