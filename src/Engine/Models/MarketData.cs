namespace StabilityTools.Engine.Models;

/// <summary><c>data/market_data.json</c>: the latest market window and the model's predictions on it.</summary>
public sealed record MarketData : StatusDocument, IStatusSchema
{
    /// <inheritdoc />
    public static string SchemaName => "market_data";

    /// <inheritdoc />
    public static int SchemaVersion => 1;

    /// <summary>The instrument, e.g. <c>SYNTH</c> for the built-in generator.</summary>
    public string Symbol { get; init; } = "";

    /// <summary>The data source: <c>synthetic</c> or a CSV path.</summary>
    public string? Source { get; init; }

    /// <summary>The latest bars, oldest first.</summary>
    public IReadOnlyList<MarketBar> Bars { get; init; } = [];

    /// <summary>The model's predictions on those bars, oldest first.</summary>
    public IReadOnlyList<MarketPrediction> Predictions { get; init; } = [];
}
