namespace StabilityTools.Engine.Models;

/// <summary>One OHLCV bar.</summary>
/// <param name="Time">Bar open time, UTC.</param>
/// <param name="Open">Open price.</param>
/// <param name="High">High price.</param>
/// <param name="Low">Low price.</param>
/// <param name="Close">Close price.</param>
/// <param name="Volume">Traded volume.</param>
public sealed record MarketBar(DateTimeOffset Time, double Open, double High, double Low, double Close, double Volume);
