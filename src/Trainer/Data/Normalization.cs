namespace StabilityTools.Trainer.Data;

/// <summary>Per-channel standardisation: (x − mean) / scale.</summary>
/// <param name="Mean">The mean per channel.</param>
/// <param name="Scale">The standard deviation per channel (1 where it was 0).</param>
internal sealed record Normalization(double[] Mean, double[] Scale)
{
    /// <summary>Fits on bars <paramref name="from"/> .. <paramref name="to"/> of <paramref name="raw"/>.</summary>
    public static Normalization Fit(double[,] raw, int from, int to)
    {
        var channels = raw.GetLength(1);
        var mean = new double[channels];
        var scale = new double[channels];
        var count = to - from + 1;
        for (var c = 0; c < channels; c++)
        {
            double sum = 0, sumSq = 0;
            for (var t = from; t <= to; t++)
            {
                sum += raw[t, c];
                sumSq += raw[t, c] * raw[t, c];
            }

            mean[c] = sum / count;
            var sd = Math.Sqrt(Math.Max(0, sumSq / count - mean[c] * mean[c]));
            scale[c] = sd > 1e-12 ? sd : 1;
        }

        return new Normalization(mean, scale);
    }
}
