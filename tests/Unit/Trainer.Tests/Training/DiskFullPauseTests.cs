using StabilityTools.Engine.State;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests.Training;

/// <summary>The pause on a full disk, with a write that reports ENOSPC as the runtime does (HResult = errno on Unix).</summary>
public sealed class DiskFullPauseTests
{
    private const int ENOSPC = 28;

    [Fact(Timeout = 300_000)]
    public void A_write_that_finds_the_disk_full_pauses_with_an_event_and_succeeds_once_space_returns()
    {
        using var temp = new TempDirectory("st-diskfull");
        var shared = TrainerTestConfig.Shared(StateDirectory.Open(temp.Path));
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var resumed = 0;
        using (var publisher = new StatusPublisher(shared, "run-x", "cpu", TimeSpan.FromMilliseconds(50), enabled: true))
        {
            var pause = new DiskFullPause(publisher, stop.Token);
            var result = pause.Run(() => ++attempts < 3 ? throw new IOException("No space left on device", ENOSPC) : "written", "a checkpoint", () => resumed++);

            Assert.Equal("written", result);
            Assert.Equal(3, attempts);
            Assert.Equal(1, pause.Pauses);
            Assert.Equal(1, resumed);
            Assert.True(publisher.Flush(TimeSpan.FromSeconds(5)));
        }

        var events = shared.Events.ReadAll().Records.Select(e => e.Type).ToList();
        Assert.Equal(["disk_full", "disk_space_recovered"], events);
    }

    [Fact(Timeout = 300_000)]
    public void A_stop_while_paused_ends_the_wait_and_other_io_errors_are_not_waited_out()
    {
        using var temp = new TempDirectory("st-diskfull");
        var shared = TrainerTestConfig.Shared(StateDirectory.Open(temp.Path));
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var publisher = new StatusPublisher(shared, "run-x", "cpu", TimeSpan.FromMilliseconds(50), enabled: true);
        var pause = new DiskFullPause(publisher, stop.Token);

        Assert.Throws<OperationCanceledException>(() => pause.Run<int>(() => throw new IOException("No space left on device", ENOSPC), "a checkpoint"));
        Assert.Throws<IOException>(() => new DiskFullPause(publisher, CancellationToken.None).Run<int>(() => throw new IOException("Input/output error", 5), "a checkpoint"));
    }
}
