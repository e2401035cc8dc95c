namespace StabilityTools.Engine.Models;

/// <summary>The model's prediction for the bar after <paramref name="Time"/>.</summary>
/// <param name="Time">The bar the prediction was made at.</param>
/// <param name="ProbabilityUp">Predicted probability that the next bar closes higher, 0..1.</param>
/// <param name="Signal">-1 (short), 0 (flat) or 1 (long).</param>
public sealed record MarketPrediction(DateTimeOffset Time, double ProbabilityUp, int Signal);
