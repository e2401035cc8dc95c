using System.Diagnostics;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Tests.Platform;

public sealed class ProcessLimitsTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("0", new[] { 0 })]
    [InlineData("0-3", new[] { 0, 1, 2, 3 })]
    [InlineData("0,2-3,7", new[] { 0, 2, 3, 7 })]
    public void Kernel_cpu_lists_are_parsed(string list, int[] expected) =>
        Assert.Equal(expected, ProcessLimits.ParseCpuList(list));

    [Fact(Timeout = 120_000)]
    public async Task Affinity_and_nice_set_on_a_real_process_read_back_from_proc()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux scheduling calls.");
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            Assert.True(ProcessLimits.TrySetAffinity(sleeper.Id, [0]));
            Assert.True(ProcessLimits.TrySetNice(sleeper.Id, 12));

            Assert.Equal([0], ProcessLimits.GetAffinity(sleeper.Id));
            Assert.Equal(12, ProcessLimits.GetNice(sleeper.Id));

            Assert.True(ProcessLimits.TrySetAffinity(sleeper.Id, []));
            Assert.Equal(Enumerable.Range(0, Environment.ProcessorCount), ProcessLimits.GetAffinity(sleeper.Id));
        }
        finally
        {
            sleeper.Kill();
            await sleeper.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        Assert.Null(ProcessLimits.GetAffinity(sleeper.Id));
        Assert.False(ProcessLimits.TrySetNice(sleeper.Id, 1));
    }
}
