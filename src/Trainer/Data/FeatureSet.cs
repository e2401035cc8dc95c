using StabilityTools.Engine.Models;

namespace StabilityTools.Trainer.Data;

/// <summary>
/// Samples cut from bars: for bar t, a trailing window of <see cref="Window"/> bars ending at t, each with
/// <see cref="Channels"/> features (log return, 20-bar volatility, 100-bar volume z-score), all computed from
/// bars up to t only; the target is whether bar t+1 closes above bar t. Train and validation samples are split by
/// time (validation is the newest share) with a gap of one window between them, and features are standardised
/// with statistics of the training samples only, so nothing of the future leaks into training.
/// </summary>
internal sealed class FeatureSet
{
    /// <summary>Features per bar.</summary>
    public const int Channels = 3;

    /// <summary>Bars in the trailing volatility.</summary>
    public const int VolatilityLookback = 20;

    /// <summary>Bars in the trailing volume statistics (long enough to see a regime's volume level, not just spikes).</summary>
    public const int VolumeLookback = 100;

    /// <summary>Bars of history the rolling statistics need before the first window.</summary>
    public const int Lookback = VolumeLookback;

    private FeatureSet(int window, float[] features, float[] labels, int[] barIndex, int trainCount, int validationStart, Normalization normalization, IReadOnlyList<MarketBar> bars)
    {
        Window = window;
        Features = features;
        Labels = labels;
        BarIndex = barIndex;
        TrainCount = trainCount;
        ValidationStart = validationStart;
        Normalization = normalization;
        Bars = bars;
    }

    /// <summary>Bars per sample window.</summary>
    public int Window { get; }

    /// <summary>Samples × window × channels, standardised, row-major.</summary>
    public float[] Features { get; }

    /// <summary>1 when the next bar closes higher, else 0; one per sample.</summary>
    public float[] Labels { get; }

    /// <summary>The bar each sample ends at.</summary>
    public int[] BarIndex { get; }

    /// <summary>Samples 0 .. TrainCount-1 are for training.</summary>
    public int TrainCount { get; }

    /// <summary>Samples ValidationStart .. Count-1 are for validation.</summary>
    public int ValidationStart { get; }

    /// <summary>All samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Validation samples.</summary>
    public int ValidationCount => Count - ValidationStart;

    /// <summary>The standardisation applied, kept with the model so predictions see the same scale.</summary>
    public Normalization Normalization { get; }

    /// <summary>The bars the samples come from.</summary>
    public IReadOnlyList<MarketBar> Bars { get; }

    /// <summary>Fewest bars that give at least a few samples on both sides of the split.</summary>
    public static int MinimumBars(int window) => Lookback + window + 2 * window + 50;

    /// <summary>Cuts samples from <paramref name="bars"/>.</summary>
    public static FeatureSet Build(IReadOnlyList<MarketBar> bars, int window, double validationFraction)
    {
        var raw = RawFeatures(bars);
        var first = Lookback + window - 1;
        var last = bars.Count - 2; // the target needs bar t+1
        var candidates = last - first + 1;
        if (candidates < 2 * window + 20)
        {
            throw new ArgumentException($"{bars.Count} bars are too few for a window of {window}; need at least {MinimumBars(window)}.");
        }

        var validationCount = Math.Max(1, (int)Math.Round(candidates * validationFraction));
        var trainCount = candidates - validationCount - window; // a window's gap: no validation input overlaps a training target
        var normalization = Normalization.Fit(raw, first - window + 1, first + trainCount - 1);

        var count = trainCount + validationCount;
        var features = new float[count * window * Channels];
        var labels = new float[count];
        var barIndex = new int[count];
        var validationStart = trainCount;
        for (var s = 0; s < count; s++)
        {
            var t = s < trainCount ? first + s : first + trainCount + window + (s - trainCount);
            barIndex[s] = t;
            labels[s] = bars[t + 1].Close > bars[t].Close ? 1f : 0f;
            WriteWindow(raw, t, window, normalization, features.AsSpan(s * window * Channels, window * Channels));
        }

        return new FeatureSet(window, features, labels, barIndex, trainCount, validationStart, normalization, bars);
    }

    /// <summary>The standardised window ending at bar <paramref name="t"/> of <paramref name="bars"/> (for predictions on any bars).</summary>
    public static float[] WindowAt(IReadOnlyList<MarketBar> bars, int t, int window, Normalization normalization)
    {
        var raw = RawFeatures(bars);
        var result = new float[window * Channels];
        WriteWindow(raw, t, window, normalization, result);
        return result;
    }

    /// <summary>Unscaled features per bar: [log return, log volatility, volume z-score].</summary>
    internal static double[,] RawFeatures(IReadOnlyList<MarketBar> bars)
    {
        var n = bars.Count;
        var f = new double[n, Channels];
        var returns = new double[n];
        var logVolume = new double[n];
        for (var t = 0; t < n; t++)
        {
            returns[t] = t == 0 ? 0 : Math.Log(bars[t].Close / bars[t - 1].Close);
            logVolume[t] = Math.Log(1 + bars[t].Volume);
        }

        for (var t = 0; t < n; t++)
        {
            f[t, 0] = returns[t];
            var (_, sdR) = MeanSd(returns, Math.Max(1, t - VolatilityLookback + 1), t);
            var (meanV, sdV) = MeanSd(logVolume, Math.Max(0, t - VolumeLookback + 1), t);
            f[t, 1] = Math.Log(sdR + 1e-6);
            f[t, 2] = sdV > 1e-9 ? (logVolume[t] - meanV) / sdV : 0;
        }

        return f;
    }

    private static void WriteWindow(double[,] raw, int t, int window, Normalization normalization, Span<float> target)
    {
        for (var k = 0; k < window; k++)
        {
            var bar = t - window + 1 + k;
            for (var c = 0; c < Channels; c++)
            {
                target[k * Channels + c] = (float)((raw[bar, c] - normalization.Mean[c]) / normalization.Scale[c]);
            }
        }
    }

    private static (double Mean, double Sd) MeanSd(double[] values, int from, int to)
    {
        if (to < from)
        {
            return (0, 0);
        }

        double sum = 0, sumSq = 0;
        for (var i = from; i <= to; i++)
        {
            sum += values[i];
            sumSq += values[i] * values[i];
        }

        var count = to - from + 1;
        var mean = sum / count;
        return (mean, Math.Sqrt(Math.Max(0, sumSq / count - mean * mean)));
    }
}
