using System.Text.Json;
using OpenQA.Selenium;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Sweeps;
using StabilityTools.Tests.Shared;
using static StabilityTools.Dashboard.Tests.Page.DashboardPageTests;

namespace StabilityTools.Dashboard.Tests.Page;

/// <summary>The runs page in a real headless Chromium against the real dashboard process, over runs written on disk.</summary>
public sealed class RunsPageTests
{
    private const string Token = "browser-token-0123456789abcdef";

    [Fact(Timeout = 300_000)]
    public async Task Three_runs_picked_of_five_are_overlaid_in_every_chart_with_the_differing_setting_and_a_chart_per_custom_scalar()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState();
        for (var i = 1; i <= 5; i++)
        {
            SampleRuns.WriteRun(sample.State, $"run-{i}", learningRate: i / 100.0, created: i, runState: i == 5 ? RunStates.Running : RunStates.Completed);
            SampleRuns.AppendSteps(sample.State, $"run-{i}", 3_000 + 500 * i);
        }

        using var scratch = new TempDirectory("st-browser");
        File.WriteAllText(scratch.File("token"), Token);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--token-file", scratch.File("token"), "--process-stale-after-s", "3600"]);
        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl($"{server.Url}/?token={Token}");
            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the live page");
            driver.Navigate().GoToUrl($"{server.Url}/runs.html");
            await Until(() => driver.FindElements(By.CssSelector("#runs tbody tr[data-run-id]")).Count == 5, "five runs in the table");
            SaveScreenshot(driver, "runs-table.png");

            foreach (var id in new[] { "run-1", "run-2", "run-4" })
            {
                driver.FindElement(By.CssSelector($"#runs tr[data-run-id='{id}'] input.pick")).Click();
            }

            driver.FindElement(By.Id("compare-button")).Click();
            await Until(() => driver.FindElements(By.CssSelector("#compare-charts .compare-chart canvas")).Count >= 4, "the comparison charts");

            var charts = driver.FindElements(By.CssSelector("#compare-charts .compare-chart"));
            var metrics = charts.Select(c => c.GetAttribute("data-metric")).ToList();
            Assert.Contains("train_loss", metrics);
            Assert.Contains("val_accuracy", metrics);
            // The custom scalar is found by itself and gets its own chart.
            Assert.Contains("grad_norm", metrics);
            foreach (var chart in charts)
            {
                // uPlot's legend: the x-axis row and one row per series drawn.
                var legend = chart.FindElements(By.CssSelector(".u-legend .u-series .u-label")).Select(s => s.Text).ToList();
                Assert.True(legend.Count == 4, $"{chart.GetAttribute("data-metric")}: {string.Join(" | ", legend)}");
                Assert.Equal(["run-1", "run-2", "run-4"], legend.Skip(1));
            }

            var differing = driver.FindElements(By.CssSelector("#differing tbody tr"));
            var row = Assert.Single(differing);
            Assert.Equal("training.learning_rate", row.GetAttribute("data-parameter"));
            Assert.Contains("0.04", row.Text);
            Assert.NotEmpty(driver.FindElements(By.CssSelector("#scatter-chart canvas")));
            Assert.Contains("format=csv", driver.FindElement(By.Id("export-csv")).GetAttribute("href"));
            SaveScreenshot(driver, "runs-compare.png");

            driver.FindElement(By.CssSelector("#runs tr[data-run-id='run-2'] a")).Click();
            await Until(() => driver.FindElement(By.Id("run-id")).Text == "run-2" && driver.FindElements(By.CssSelector("#run-settings tr")).Count == 3, "run-2's page");
            SaveScreenshot(driver, "runs-run-page.png");

            var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
            Assert.True(errors.Count == 0, "console: " + string.Join(" | ", errors));
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
        }
        finally
        {
            SaveScreenshot(driver, "runs-page-final.png");
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_sweeps_progress_is_shown_and_its_best_trial_marked_in_the_runs_table_and_both_follow_the_files_live()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState();
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        // A sweep of three trials as its controller leaves it: two completed (trial 2 the best), one running.
        var plan = TrainingSweeps.BuildPlan(new SweepRequest
        {
            Name = "lr",
            Parameters = [new SweepParameter("training.learning_rate", [JsonSerializer.SerializeToElement(0.1), JsonSerializer.SerializeToElement(0.01), JsonSerializer.SerializeToElement(0.001)])],
            Trial = ServiceSpec.ForKind(ServiceKind.Training, "x", "/bin/true", []),
        }, SampleState.Start);
        sample.State.EnsureSweepDirectory("lr");
        store.Write(sample.State.SweepPlanPath("lr"), plan);
        SweepProgress Progress(double thirdValue, string thirdState) => new()
        {
            Name = "lr",
            State = SweepStates.Running,
            Trials =
            [
                new SweepTrial { Index = 1, Service = "lr-t001", State = TrialStates.Completed, RunId = "trial-1", Value = 0.5, Epochs = 5 },
                new SweepTrial { Index = 2, Service = "lr-t002", State = TrialStates.Completed, RunId = "trial-2", Value = 0.3, Epochs = 5 },
                new SweepTrial { Index = 3, Service = "lr-t003", State = thirdState, RunId = "trial-3", Value = thirdValue, Epochs = 3 },
            ],
        };
        for (var i = 1; i <= 3; i++)
        {
            SampleRuns.WriteRun(sample.State, $"trial-{i}", learningRate: Math.Pow(10, -i), experiment: "lr", created: i, runState: i == 3 ? RunStates.Running : RunStates.Completed);
        }

        store.Write(sample.State.SweepProgressPath("lr"), Progress(0.9, TrialStates.Running));
        using var scratch = new TempDirectory("st-browser");
        File.WriteAllText(scratch.File("token"), Token);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--token-file", scratch.File("token"), "--process-stale-after-s", "3600"]);
        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl($"{server.Url}/?token={Token}");
            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the live page");
            driver.Navigate().GoToUrl($"{server.Url}/runs.html");
            await Until(() => driver.FindElements(By.CssSelector("#sweeps tr[data-sweep='lr']")).Count == 1, "the sweep's row");
            var row = driver.FindElement(By.CssSelector("#sweeps tr[data-sweep='lr']"));
            Assert.Equal("2/3", row.FindElement(By.CssSelector(".sweep-done")).Text.Trim());
            // No controller runs this sweep: it is shown interrupted, as Get-TrainingSweep shows it.
            Assert.Equal("interrupted", row.FindElement(By.CssSelector(".badge")).Text);
            Assert.Contains("lr-t002", row.FindElement(By.CssSelector("a.best-trial")).Text);
            await Until(() => driver.FindElements(By.CssSelector("#runs tr[data-best='lr']")).Count == 1, "the best trial marked in the runs table");
            Assert.Equal("trial-2", driver.FindElement(By.CssSelector("#runs tr[data-best='lr']")).GetAttribute("data-run-id"));
            SaveScreenshot(driver, "runs-sweep.png");

            // The third trial completes as the best: its run's record and the sweep's progress change, the page follows without a reload.
            store.Write(sample.State.SweepProgressPath("lr"), Progress(0.1, TrialStates.Completed));
            SampleRuns.WriteRun(sample.State, "trial-3", learningRate: 0.001, experiment: "lr", created: 3, runState: RunStates.Completed);
            await Until(() => driver.FindElements(By.CssSelector("#runs tr[data-best='lr']")).Select(r => r.GetAttribute("data-run-id")).SingleOrDefault() == "trial-3",
                "the new best trial marked");
            Assert.Equal("3/3", driver.FindElement(By.CssSelector("#sweeps tr[data-sweep='lr'] .sweep-done")).Text.Trim());
            SaveScreenshot(driver, "runs-sweep-live.png");

            var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
            Assert.True(errors.Count == 0, "console: " + string.Join(" | ", errors));
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
        }
        finally
        {
            SaveScreenshot(driver, "runs-sweep-final.png");
        }
    }
}
