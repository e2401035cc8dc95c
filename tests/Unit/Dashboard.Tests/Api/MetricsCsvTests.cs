using StabilityTools.Dashboard.Api;
using StabilityTools.Engine.Models;

namespace StabilityTools.Dashboard.Tests.Api;

public sealed class MetricsCsvTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("plain", "plain")]
    public void Run_ids_are_quoted_and_cannot_become_spreadsheet_formulas(string runId, string expected)
    {
        var csv = MetricsCsv.Write([new MetricRecord { Time = DateTimeOffset.UnixEpoch, RunId = runId, Kind = MetricKind.Epoch, TrainLoss = double.NaN }]);

        var row = csv.Split("\r\n")[1];
        Assert.Equal($"1970-01-01T00:00:00.000Z,{expected},epoch,0,0,NaN,,,,,", row);
    }
}
