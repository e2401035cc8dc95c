using StabilityTools.Engine.Services;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>How often many waits together look at their status files.</summary>
public sealed class BatchPollIntervalTests
{
    [Fact(Timeout = 120_000)]
    public void Many_waits_poll_less_often_together_than_alone_but_at_least_ten_times_a_second()
    {
        var single = TimeSpan.FromMilliseconds(10);

        Assert.Equal(single, ProcessManager.BatchPollInterval(single, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(20), ProcessManager.BatchPollInterval(single, 10));
        Assert.Equal(TimeSpan.FromMilliseconds(100), ProcessManager.BatchPollInterval(single, 50));
        Assert.Equal(TimeSpan.FromMilliseconds(100), ProcessManager.BatchPollInterval(single, 500));
    }
}
