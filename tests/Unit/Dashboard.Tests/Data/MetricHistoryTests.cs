using StabilityTools.Dashboard.Data;
using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Tests.Data;

public sealed class MetricHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static MetricRecord Step(int i) => new() { Time = T0.AddSeconds(i), Kind = MetricKind.Step, Step = i, TrainLoss = i };

    [Fact(Timeout = 120_000)]
    public void Downsampling_averages_equal_buckets_and_keeps_the_newest_record_as_is()
    {
        var history = new MetricHistory(1000);
        history.Add(Enumerable.Range(0, 101).Select(Step).ToList());

        var (total, records) = history.Query(null, null, 11);

        Assert.Equal(101, total);
        Assert.Equal(11, records.Count);
        Assert.Equal(4.5, records[0].TrainLoss);
        Assert.Equal(100, records[^1].TrainLoss);
        Assert.Equal(100, records[^1].Step);
    }

    [Fact(Timeout = 120_000)]
    public void An_epoch_repeated_by_a_restarted_trainer_is_held_once_and_changes_the_generation()
    {
        var history = new MetricHistory(1000);
        history.Add([new MetricRecord { Time = T0, RunId = "r", Kind = MetricKind.Epoch, Epoch = 1, ValLoss = 0.9 }]);
        var generation = history.Generation;

        history.Add([new MetricRecord { Time = T0.AddSeconds(5), RunId = "r", Kind = MetricKind.Epoch, Epoch = 1, ValLoss = 0.8 }]);

        var (total, records) = history.Query(null, MetricKind.Epoch, 100);
        Assert.Equal(1, total);
        Assert.Equal(0.8, records[0].ValLoss);
        Assert.NotEqual(generation, history.Generation);
    }

    [Fact(Timeout = 120_000)]
    public void The_history_is_bounded_and_a_dropped_index_asks_for_a_reset()
    {
        var history = new MetricHistory(100);
        history.Add(Enumerable.Range(0, 250).Select(Step).ToList());

        var (total, _) = history.Query(null, null, 10_000);

        Assert.InRange(total, 90, 100);
        Assert.Equal(250, history.Count);
        Assert.Null(history.After(0, 10));
        Assert.Equal(249, Assert.Single(history.After(249, 10)!).Step);
    }
}
