using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Data;

namespace StabilityTools.Trainer.Tests.Data;

public sealed class OhlcvCsvLoaderTests
{
    private static string Write(TempDirectory temp, params string[] lines)
    {
        var path = temp.File("bars.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact(Timeout = 300_000)]
    public void A_header_in_any_column_order_is_recognised_and_extra_columns_ignored()
    {
        using var temp = new TempDirectory();
        var path = Write(temp,
            "Volume,Close,Low,High,Open,Date,Note",
            "1000,10.5,9.5,11,10,2024-01-01T00:00:00Z,a",
            "1200,10.8,10.1,11.2,10.5,2024-01-01T01:00:00Z,b");

        var bars = OhlcvCsvLoader.Load(path, minimumBars: 2);

        Assert.Equal(2, bars.Count);
        Assert.Equal((10.0, 11.0, 9.5, 10.5, 1000.0), (bars[0].Open, bars[0].High, bars[0].Low, bars[0].Close, bars[0].Volume));
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 1, 0, 0, TimeSpan.Zero), bars[1].Time);
    }

    [Fact(Timeout = 300_000)]
    public void Without_a_header_the_columns_are_timestamp_open_high_low_close_volume_and_unix_times_work()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, "1704067200,10,11,9.5,10.5,1000", "1704070800000,10.5,11.2,10.1,10.8,1200");

        var bars = OhlcvCsvLoader.Load(path, minimumBars: 2);

        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), bars[0].Time);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 1, 0, 0, TimeSpan.Zero), bars[1].Time);
        Assert.Equal(10.8, bars[1].Close);
    }

    [Fact(Timeout = 300_000)]
    public void Malformed_rows_are_reported_together_with_file_line_and_column()
    {
        using var temp = new TempDirectory();
        var path = Write(temp,
            "timestamp,open,high,low,close,volume",
            "2024-01-01T00:00:00Z,10,11,9.5,10.5,1000",
            "2024-01-01T01:00:00Z,10,11,9.5,abc,1000",
            "yesterday,10,11,9.5,10.5,1000",
            "2024-01-01T03:00:00Z,10,11",
            "2023-12-31T23:00:00Z,10,11,9.5,10.5,1000");

        var error = Assert.Throws<MarketDataException>(() => OhlcvCsvLoader.Load(path, minimumBars: 1));

        Assert.Equal(4, error.Problems.Count);
        Assert.All(error.Problems, p => Assert.Equal(path, p.File));
        Assert.Contains(error.Problems, p => p.Line == 3 && p.Key == "close" && p.Message.Contains("'abc'"));
        Assert.Contains(error.Problems, p => p.Line == 4 && p.Key == "timestamp");
        Assert.Contains(error.Problems, p => p.Line == 5 && p.Message.Contains("3 fields"));
        Assert.Contains(error.Problems, p => p.Line == 6 && p.Message.Contains("increasing"));
        Assert.Contains($"{path}:3:", error.Message);
    }

    [Fact(Timeout = 300_000)]
    public void A_missing_file_is_one_error_naming_it()
    {
        using var temp = new TempDirectory();
        var path = temp.File("absent.csv");

        var error = Assert.Throws<MarketDataException>(() => OhlcvCsvLoader.Load(path, minimumBars: 1));

        Assert.Equal(path, Assert.Single(error.Problems).File);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact(Timeout = 300_000)]
    public void Too_few_bars_for_the_window_is_an_error()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, "1704067200,10,11,9.5,10.5,1000", "1704070800,10.5,11.2,10.1,10.8,1200");

        var error = Assert.Throws<MarketDataException>(() => OhlcvCsvLoader.Load(path, minimumBars: 100));

        Assert.Contains("at least 100", error.Message);
    }

    [Fact(Timeout = 300_000)]
    public void A_high_below_the_close_is_rejected()
    {
        using var temp = new TempDirectory();
        var path = Write(temp, "1704067200,10,10.2,9.5,10.5,1000");

        var error = Assert.Throws<MarketDataException>(() => OhlcvCsvLoader.Load(path, minimumBars: 1));

        Assert.Equal(1, Assert.Single(error.Problems).Line);
    }
}
