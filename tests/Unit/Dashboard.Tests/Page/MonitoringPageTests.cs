using OpenQA.Selenium;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;
using static StabilityTools.Dashboard.Tests.Page.DashboardPageTests;

namespace StabilityTools.Dashboard.Tests.Page;

/// <summary>
/// The live page's monitoring panels (issue #24) in a real headless Chromium against the real dashboard process: the
/// errors chart, the system-metrics chart beside loss and accuracy, and the log panel, each drawn from data on disk and
/// following new data without a reload.
/// </summary>
public sealed class MonitoringPageTests
{
    private const string Token = "browser-token-0123456789abcdef";

    [Fact(Timeout = 180_000)]
    public async Task The_errors_chart_system_metrics_chart_and_log_panel_render_their_data_and_follow_it_live()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        var now = DateTimeOffset.UtcNow;
        using var sample = new SampleState().Populate(metricRecords: 50);
        // Two crashes in the last hour and a limit event six hours ago.
        sample.Data.Events.AppendRange([
            Event(now.AddHours(-6), "limit_exceeded"),
            Event(now.AddMinutes(-40), "exited", ("exit_code", "1")), Event(now.AddMinutes(-40), "restarting"), Event(now.AddMinutes(-39), "started"),
            Event(now.AddMinutes(-20), "exited", ("signal", "SIGKILL")), Event(now.AddMinutes(-20), "restarting"), Event(now.AddMinutes(-19), "started"),
        ]);
        var history = new SystemMetricsHistory(SystemMetricsHistory.PathFor(sample.State, "training", null));
        for (var i = 0; i < 120; i++)
        {
            history.Append(new SystemMetricsPoint { Time = now.AddSeconds(5 * (i - 120)), Pid = 4242, CpuPercent = 40 + i % 20, CpuMaxPercent = 40 + i % 20, MemoryMb = 300 + i, MemoryMaxMb = 300 + i, GpuMemoryMb = 1024, GpuMemoryMaxMb = 1024 });
        }

        var log = Path.Combine(sample.State.ServiceLogDirectory("training"), "stdout.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllText(log, string.Concat(Enumerable.Range(1, 30).Select(i => $"epoch {i} loss {1.0 / i:0.000}{(i % 10 == 0 ? " WARN slow batch" : "")}\n")));

        using var scratch = new TempDirectory("st-browser");
        File.WriteAllText(scratch.File("token"), Token);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--token-file", scratch.File("token"), "--process-stale-after-s", "3600"]);
        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl($"{server.Url}/?token={Token}");
            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the stream to go live");

            // Errors: the last 24 hours by default, counted as Get-ProcessStatus counts them; the last hour has only the crashes.
            await Until(() => Text(driver, "#errors-totals [data-kind=restarts]") == "restarts: 2", "the errors chart's totals");
            Assert.Equal("failures: 2", Text(driver, "#errors-totals [data-kind=failures]"));
            Assert.Equal("limit events: 1", Text(driver, "#errors-totals [data-kind=limit_events]"));
            Choose(driver, "errors-window", "1h");
            await Until(() => Text(driver, "#errors-totals [data-kind=limit_events]") == "limit events: 0", "the last hour's totals");
            Assert.Equal("restarts: 2", Text(driver, "#errors-totals [data-kind=restarts]"));

            // System metrics: the trainer's history, chosen by default, beside loss and accuracy.
            await Until(() => driver.FindElement(By.Id("system-count")).Text.StartsWith("120 samples", StringComparison.Ordinal), "the system-metrics chart");
            Assert.Contains("peak memory 419 MB", driver.FindElement(By.Id("system-count")).Text);
            Assert.Equal("training", driver.FindElement(By.Id("system-service")).GetDomProperty("value"));

            // Logs: the tail, then a line written now shows up without a reload, then a filter keeps only its matches.
            Assert.Equal("training", driver.FindElement(By.Id("logs-service")).GetDomProperty("value"));
            await Until(() => driver.FindElement(By.Id("logs")).Text.Contains("epoch 30 loss 0.033", StringComparison.Ordinal), "the log's tail");
            driver.ExecuteScript("window.__noReload = 42;");
            File.AppendAllText(log, "epoch 31 loss 0.032 WARN written while watched\n");
            await Until(() => driver.FindElement(By.Id("logs")).Text.Contains("written while watched", StringComparison.Ordinal), "the new line in the live log");
            driver.FindElement(By.Id("logs-filter")).SendKeys("warn");
            await Until(() => driver.FindElement(By.Id("logs-count")).Text == "4 lines matching /warn/", "the filtered log");
            Assert.DoesNotContain("epoch 29", driver.FindElement(By.Id("logs")).Text);
            driver.FindElement(By.Id("logs-filter")).SendKeys("(");
            await Until(() => driver.FindElement(By.Id("logs-problem")).Displayed, "the bad filter's message");
            Assert.Equal("bad filter", driver.FindElement(By.Id("logs-state")).Text);

            foreach (var chart in new[] { "errors-chart", "system-chart", "loss-chart" })
            {
                var canvas = driver.FindElement(By.CssSelector($"#{chart} canvas"));
                Assert.True(canvas.Size.Width > 100 && canvas.Size.Height > 100, $"{chart} canvas is {canvas.Size}");
            }

            Assert.Equal(42L, driver.ExecuteScript("return window.__noReload;"));
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
            var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
            Assert.True(errors.Count == 0, "console: " + string.Join(" | ", errors));
        }
        finally
        {
            SaveScreenshot(driver, "dashboard-monitoring.png");
        }
    }

    /// <summary>Picks an option as a person would: the value changes and the select's change event fires.</summary>
    private static void Choose(IWebDriver driver, string id, string value) =>
        ((IJavaScriptExecutor)driver).ExecuteScript("const s = document.getElementById(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change'));", id, value);

    private static string Text(IWebDriver driver, string css) => driver.FindElement(By.CssSelector(css)).Text;

    private static StabilityEvent Event(DateTimeOffset time, string type, params (string Key, string Value)[] data) => new()
    {
        Time = time, Service = "training", Type = type, Severity = EventSeverity.Warning, Message = type,
        Data = data.Length == 0 ? null : data.ToDictionary(d => d.Key, d => d.Value),
    };
}
