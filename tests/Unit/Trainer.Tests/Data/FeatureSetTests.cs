using StabilityTools.Trainer.Data;

namespace StabilityTools.Trainer.Tests.Data;

public sealed class FeatureSetTests
{
    [Fact(Timeout = 300_000)]
    public void The_generator_is_deterministic_for_a_seed_and_differs_between_seeds()
    {
        var a = SyntheticMarket.Generate(500, seed: 3);
        var b = SyntheticMarket.Generate(500, seed: 3);
        var c = SyntheticMarket.Generate(500, seed: 4);

        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(x => x.Close), c.Select(x => x.Close));
        Assert.All(a, bar => Assert.True(bar.High >= Math.Max(bar.Open, bar.Close) && bar.Low <= Math.Min(bar.Open, bar.Close)));
    }

    [Fact(Timeout = 300_000)]
    public void Features_use_no_bar_after_the_window_and_scaling_uses_training_samples_only()
    {
        var bars = SyntheticMarket.Generate(3000, seed: 5);
        var set = FeatureSet.Build(bars, window: 16, validationFraction: 0.2);
        var sample = set.TrainCount / 2;
        var t = set.BarIndex[sample];

        // Change every bar after t: the sample's window must not change, nor its scaling (fitted on training samples
        // only), as long as the change is confined to bars after the last training target.
        var lastTrainTarget = set.BarIndex[set.TrainCount - 1] + 1;
        var changed = bars.Select((bar, i) => i > lastTrainTarget ? bar with { Close = bar.Close * 1.5, High = bar.High * 1.5, Volume = bar.Volume * 7 } : bar).ToList();
        var other = FeatureSet.Build(changed, window: 16, validationFraction: 0.2);

        Assert.Equal(set.Normalization.Mean, other.Normalization.Mean);
        Assert.Equal(Slice(set, sample), Slice(other, sample));
        Assert.Equal(FeatureSet.WindowAt(bars, t, 16, set.Normalization), FeatureSet.WindowAt(changed.Take(t + 1).ToList(), t, 16, set.Normalization));

        // The label is the next bar's direction.
        Assert.Equal(bars[t + 1].Close > bars[t].Close ? 1f : 0f, set.Labels[sample]);
    }

    [Fact(Timeout = 300_000)]
    public void Validation_samples_come_after_training_samples_with_a_window_between()
    {
        var set = FeatureSet.Build(SyntheticMarket.Generate(3000, seed: 5), window: 16, validationFraction: 0.25);

        var lastTrain = set.BarIndex[set.TrainCount - 1];
        var firstValidation = set.BarIndex[set.ValidationStart];
        Assert.True(firstValidation - 16 + 1 > lastTrain + 1, $"validation starts at bar {firstValidation}, training ends at {lastTrain}");
        Assert.InRange(set.ValidationCount / (double)set.Count, 0.2, 0.3);
    }

    private static float[] Slice(FeatureSet set, int sample)
    {
        var size = set.Window * FeatureSet.Channels;
        return set.Features.AsSpan(sample * size, size).ToArray();
    }
}
