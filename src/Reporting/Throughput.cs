using System.Diagnostics;

namespace StabilityTools.Reporting;

/// <summary>The training thread's throughput: samples per second over the last half second or so, and the ETA.</summary>
/// <param name="samplesPerSec">The figure to show until the first measurement (the last epoch's, on a resume).</param>
internal sealed class Throughput(double samplesPerSec)
{
    private static readonly TimeSpan RateWindow = TimeSpan.FromMilliseconds(500);
    private readonly Stopwatch _rateClock = Stopwatch.StartNew();
    private readonly Stopwatch _sessionClock = Stopwatch.StartNew();
    private long _rateSamples;
    private long _sessionSteps;

    /// <summary>The latest rate.</summary>
    public double SamplesPerSec { get; private set; } = samplesPerSec;

    /// <summary>Counts one optimizer step of <paramref name="samples"/> samples.</summary>
    public void AddStep(int samples)
    {
        _sessionSteps++;
        _rateSamples += samples;
        if (_rateClock.Elapsed >= RateWindow)
        {
            SamplesPerSec = _rateSamples / _rateClock.Elapsed.TotalSeconds;
            _rateSamples = 0;
            _rateClock.Restart();
        }
    }

    /// <summary>Seconds to train <paramref name="remainingSteps"/> more at this session's mean step rate.</summary>
    public double EtaSeconds(long remainingSteps) => remainingSteps / (_sessionSteps / Math.Max(1e-3, _sessionClock.Elapsed.TotalSeconds));
}
