using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Sweeps;

/// <summary>
/// The median stopping rule (Golovin et al., "Google Vizier", 2017; Optuna's MedianPruner): a trial whose best value up
/// to epoch k is worse than the median of the completed trials' best values up to epoch k is stopped. It judges only
/// after <c>warmupEpochs</c> epochs and once <c>minTrials</c> trials have completed, so that early noise and a thin
/// field stop nothing.
/// </summary>
public static class MedianRule
{
    /// <summary>The best value of <paramref name="curve"/> (epoch → value) at epochs up to <paramref name="epoch"/>; null when it has none.</summary>
    public static double? BestUpTo(IReadOnlyDictionary<int, double> curve, int epoch, string goal)
    {
        var values = curve.Where(p => p.Key <= epoch && !double.IsNaN(p.Value)).Select(p => p.Value).ToList();
        return values.Count == 0 ? null : goal == SweepGoals.Maximize ? values.Max() : values.Min();
    }

    /// <summary>
    /// The verdict on a trial at its latest epoch: the median it was compared with when it is to stop, else null.
    /// A NaN value is worse than any number (a diverged trial is stopped as soon as the rule may judge).
    /// </summary>
    /// <param name="trial">The trial's curve, epoch → value.</param>
    /// <param name="completed">The curves of the completed trials.</param>
    /// <param name="goal"><see cref="SweepGoals"/>.</param>
    /// <param name="minTrials">Completed trials needed before the rule judges.</param>
    /// <param name="warmupEpochs">Epochs a trial runs before it is judged.</param>
    public static double? ShouldPrune(IReadOnlyDictionary<int, double> trial, IReadOnlyList<IReadOnlyDictionary<int, double>> completed, string goal, int minTrials, int warmupEpochs)
    {
        if (trial.Count == 0 || completed.Count < Math.Max(1, minTrials))
        {
            return null;
        }

        var epoch = trial.Keys.Max();
        if (epoch <= warmupEpochs)
        {
            return null;
        }

        var others = completed.Select(c => BestUpTo(c, epoch, goal)).OfType<double>().Order().ToList();
        if (others.Count < Math.Max(1, minTrials))
        {
            return null;
        }

        var median = others.Count % 2 == 1 ? others[others.Count / 2] : (others[(others.Count / 2) - 1] + others[others.Count / 2]) / 2;
        var own = BestUpTo(trial, epoch, goal);
        var worse = own is not { } value || (goal == SweepGoals.Maximize ? value < median : value > median);
        return worse ? median : null;
    }
}
