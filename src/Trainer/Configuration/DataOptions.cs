namespace StabilityTools.Trainer.Configuration;

/// <summary>The <c>data</c> section: where the bars come from and how samples are cut from them.</summary>
internal sealed record DataOptions
{
    /// <summary><c>synthetic</c> (default: the built-in seeded generator) or <c>csv</c>.</summary>
    public string Source { get; init; } = "synthetic";

    /// <summary>The OHLCV CSV file when <see cref="Source"/> is <c>csv</c>; relative paths are relative to the config file.</summary>
    public string? CsvPath { get; init; }

    /// <summary>The instrument's name in <c>market_data.json</c>. Default <c>SYNTH</c>.</summary>
    public string Symbol { get; init; } = "SYNTH";

    /// <summary>Bars the synthetic generator makes. Default 20000.</summary>
    public int Bars { get; init; } = 20_000;

    /// <summary>The synthetic generator's seed. Default 7.</summary>
    public int Seed { get; init; } = 7;

    /// <summary>Bars in each sample's trailing window. Default 16.</summary>
    public int Window { get; init; } = 16;

    /// <summary>The newest share of samples held out for validation (split by time). Default 0.2.</summary>
    public double ValidationFraction { get; init; } = 0.2;
}
