using StabilityTools.Engine.Platform;

namespace StabilityTools.Supervisor;

/// <summary>
/// The floor under a service at the idle CPU policy (SCHED_IDLE): at the scheduler's lowest weight a service gets a
/// core only when nothing else wants it, so a trainer that keeps every core busy could starve it. Its health probe
/// tells: an answer slower than half the probe's timeout, or none, lifts every thread of the service's tree to the
/// normal policy (at its nice value, 10 for a dashboard); <see cref="QuickAnswersToLower"/> quick answers in a row put
/// it back. Called from the health probe's task; it only sets policies and reports, the loop decides nothing here.
/// </summary>
/// <param name="changed">Told (lifted, threads that took the policy) after each change.</param>
internal sealed class CpuFloor(Action<bool, int> changed)
{
    /// <summary>Quick answers in a row that return a lifted service to the idle policy (20 s at the dashboard's 2 s probe interval).</summary>
    public const int QuickAnswersToLower = 10;

    private readonly object _gate = new();
    private bool _lifted;
    private int _quick;

    /// <summary>True while the floor holds the service at the normal policy.</summary>
    public bool Lifted
    {
        get
        {
            lock (_gate)
            {
                return _lifted;
            }
        }
    }

    /// <summary>A probe of <paramref name="pid"/>'s service answered (<paramref name="ok"/>) after <paramref name="took"/>.</summary>
    public void Observe(int pid, bool ok, TimeSpan took, TimeSpan timeout)
    {
        lock (_gate)
        {
            if (!ok || took > timeout / 2)
            {
                _quick = 0;
                if (!_lifted)
                {
                    _lifted = true;
                    changed(true, SchedulingPolicy.TrySetAll(ProcessTable.Descendants([pid]), SchedulingPolicy.Normal));
                }
            }
            else if (_lifted && ++_quick >= QuickAnswersToLower)
            {
                _lifted = false;
                _quick = 0;
                changed(false, SchedulingPolicy.TrySetAll(ProcessTable.Descendants([pid]), SchedulingPolicy.Idle));
            }
        }
    }

    /// <summary>A new run starts at its spec's policy (the exec chain sets it): nothing is lifted.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _lifted = false;
            _quick = 0;
        }
    }
}
