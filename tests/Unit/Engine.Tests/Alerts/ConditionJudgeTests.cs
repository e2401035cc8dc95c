using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Tests.Alerts;

public sealed class ConditionJudgeTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static AlertRule Rule(AlertTrigger trigger, string name = "trend") => new() { Name = name, On = [trigger], WebhookUrl = "http://127.0.0.1:9/" };

    private static MetricRecord Epoch(int epoch, double? trainLoss, double? valLoss = null) => new() { Epoch = epoch, TrainLoss = trainLoss, ValLoss = valLoss };

    private static TrainingStatus Status(long progress, double samplesPerSec, DateTimeOffset heartbeat) =>
        new() { Pid = 42, Progress = progress, Step = progress, CurrentEpoch = 1, SamplesPerSec = samplesPerSec, Heartbeat = heartbeat };

    [Fact(Timeout = 120_000)]
    public void Loss_rising_holds_after_k_rising_epochs_in_a_row_and_clears_when_the_loss_falls()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.LossRising) with { RisingEpochs = 3 }];

        Assert.Empty(judge.Judge(rules, "training", Start));
        judge.ObserveEpoch(Epoch(1, 1.0));
        Assert.False(Assert.Single(judge.Judge(rules, "training", Start)).Holds);
        judge.ObserveEpoch(Epoch(2, 1.1));
        judge.ObserveEpoch(Epoch(3, 1.2));
        Assert.Empty(judge.Judge(rules, "training", Start));
        judge.ObserveEpoch(Epoch(4, 1.3));
        var rising = Assert.Single(judge.Judge(rules, "training", Start));
        Assert.True(rising.Holds);
        Assert.Contains("loss has risen 3 epochs in a row", rising.Message);
        Assert.Contains(("figure", "loss"), rising.Data);

        judge.ObserveEpoch(Epoch(5, 1.4));
        Assert.Empty(judge.Judge(rules, "training", Start));
        judge.ObserveEpoch(Epoch(6, 0.9));
        Assert.False(Assert.Single(judge.Judge(rules, "training", Start)).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void Loss_rising_prefers_the_validation_loss_and_ignores_a_retrained_epoch()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.LossRising) with { RisingEpochs = 2 }];

        // The training loss falls while the validation loss rises: overfitting, what the rule is for.
        judge.ObserveEpoch(Epoch(1, 1.0, 2.0));
        judge.ObserveEpoch(Epoch(2, 0.9, 2.1));
        judge.ObserveEpoch(Epoch(2, 0.1, 0.1));
        judge.ObserveEpoch(Epoch(3, 0.8, 2.2));

        var reading = Assert.Single(judge.Judge(rules, "training", Start));
        Assert.True(reading.Holds);
        Assert.Contains(("figure", "val_loss"), reading.Data);
    }

    [Fact(Timeout = 120_000)]
    public void Throughput_low_is_judged_after_the_warm_up_against_the_median_and_clears_when_it_recovers()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.ThroughputLow) with { ThroughputFraction = 0.5 }];
        var now = Start;
        IReadOnlyList<ConditionReading> Sample(double value)
        {
            now += TimeSpan.FromSeconds(1);
            judge.ObserveStatus(Status(now.Ticks, value, now), now);
            return judge.Judge(rules, "training", now);
        }

        // The warm-up is not judged, however low.
        for (var i = 0; i < ConditionJudge.ThroughputWarmup; i++)
        {
            Assert.Empty(Sample(i == 0 ? 10 : 1000));
        }

        Assert.False(Assert.Single(Sample(1000)).Holds);
        // The same document met again is no new sample.
        judge.ObserveStatus(Status(now.Ticks, 10, now), now);
        Assert.Empty(judge.Judge(rules, "training", now));

        var low = Assert.Single(Sample(400));
        Assert.True(low.Holds);
        Assert.Contains(("median", "1000"), low.Data);
        // A long collapse does not become the baseline: it stays low.
        for (var i = 0; i < 50; i++)
        {
            Assert.Empty(Sample(400));
        }

        Assert.False(Assert.Single(Sample(900)).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void The_throughput_median_keeps_a_bounded_number_of_samples()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.ThroughputLow) with { ThroughputFraction = 0.1 }];
        var now = Start;
        for (var i = 0; i < 10 * ConditionJudge.ThroughputSamples; i++)
        {
            now += TimeSpan.FromSeconds(1);
            judge.ObserveStatus(Status(i, i < 5 * ConditionJudge.ThroughputSamples ? 100 : 1000, now), now);
            judge.Judge(rules, "training", now);
        }

        // Only the newest samples count: the old pace of 100 is forgotten, so 90 is now under a tenth of 1000.
        now += TimeSpan.FromSeconds(1);
        judge.ObserveStatus(Status(-1, 90, now), now);
        Assert.True(Assert.Single(judge.Judge(rules, "training", now)).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void No_progress_holds_once_progress_stands_still_for_the_threshold_and_clears_when_it_moves()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.NoProgress) with { NoProgressMs = 60_000 }];

        Assert.Empty(judge.Judge(rules, "training", Start));
        judge.ObserveStatus(Status(7, 100, Start), Start);
        Assert.False(Assert.Single(judge.Judge(rules, "training", Start)).Holds);
        var later = Start + TimeSpan.FromSeconds(59);
        judge.ObserveStatus(Status(7, 100, later), later);
        Assert.Empty(judge.Judge(rules, "training", later));

        later = Start + TimeSpan.FromSeconds(61);
        judge.ObserveStatus(Status(7, 100, later), later);
        var stalled = Assert.Single(judge.Judge(rules, "training", later));
        Assert.True(stalled.Holds);
        Assert.Contains("no progress for 61 s", stalled.Message);

        judge.ObserveStatus(Status(8, 100, later), later);
        Assert.False(Assert.Single(judge.Judge(rules, "training", later)).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void A_paused_trainer_makes_no_progress_on_purpose_and_is_not_reported()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.NoProgress) with { NoProgressMs = 1000 }];
        judge.ObserveStatus(Status(7, 100, Start) with { State = TrainerState.Paused }, Start);
        Assert.False(Assert.Single(judge.Judge(rules, "training", Start)).Holds);

        var later = Start + TimeSpan.FromMinutes(5);
        judge.ObserveStatus(Status(7, 100, later) with { State = TrainerState.Paused }, later);
        Assert.Empty(judge.Judge(rules, "training", later));
        judge.ObserveStatus(Status(7, 100, later) with { State = TrainerState.Running }, later + TimeSpan.FromSeconds(2));
        Assert.True(Assert.Single(judge.Judge(rules, "training", later + TimeSpan.FromSeconds(2))).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void A_new_run_is_judged_from_its_own_progress()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.NoProgress) with { NoProgressMs = 1000 }];
        judge.ObserveStatus(Status(7, 100, Start), Start);
        judge.Judge(rules, "training", Start);
        Assert.True(Assert.Single(judge.Judge(rules, "training", Start + TimeSpan.FromSeconds(2))).Holds);

        judge.NewRun();
        Assert.Empty(judge.Judge(rules, "training", Start + TimeSpan.FromSeconds(3)));
        var now = Start + TimeSpan.FromSeconds(3);
        judge.ObserveStatus(Status(7, 100, now), now);
        Assert.False(Assert.Single(judge.Judge(rules, "training", now)).Holds);
    }

    [Fact(Timeout = 120_000)]
    public void Disk_full_holds_under_the_free_percentage_of_each_rule_and_clears_when_space_is_freed()
    {
        var judge = new ConditionJudge();
        AlertRule[] rules = [Rule(AlertTrigger.DiskFull) with { DiskFreePercent = 10 }, Rule(AlertTrigger.DiskFull, "default")];
        const long Total = 100L << 30;

        judge.ObserveDisk(Total / 100 * 8, Total);
        var first = judge.Judge(rules, "training", Start);
        Assert.Equal([("trend", true), ("default", false)], first.Select(r => (r.Rule, r.Holds)));
        Assert.Contains(("free_percent", "8"), first[0].Data);

        judge.ObserveDisk(Total / 100 * 3, Total);
        Assert.Equal([("default", true)], judge.Judge(rules, "training", Start).Select(r => (r.Rule, r.Holds)));

        judge.ObserveDisk(Total / 2, Total);
        Assert.Equal([("trend", false), ("default", false)], judge.Judge(rules, "training", Start).Select(r => (r.Rule, r.Holds)));
    }

    [Fact(Timeout = 120_000)]
    public void Nothing_is_judged_for_a_rule_of_another_service_or_another_trigger()
    {
        var judge = new ConditionJudge();
        judge.ObserveDisk(1, 100);
        judge.ObserveEpoch(Epoch(1, 1));

        Assert.Empty(judge.Judge([Rule(AlertTrigger.DiskFull) with { Scope = "dashboard" }, Rule(AlertTrigger.Fatal)], "training", Start));
    }

    [Fact(Timeout = 120_000)]
    public void The_disk_probe_reads_the_file_system_of_a_directory()
    {
        var space = DiskSpace.Of(Path.GetTempPath());

        Assert.NotNull(space);
        Assert.InRange(space.Value.FreeBytes, 0, space.Value.TotalBytes);
        Assert.Null(DiskSpace.Of("/no/such/directory/here"));
    }
}
