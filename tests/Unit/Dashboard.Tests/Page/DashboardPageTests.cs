using System.Diagnostics;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using StabilityTools.Dashboard.Tests.Support;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Page;

/// <summary>
/// The page in a real headless Chromium (Debian's <c>chromium</c> + <c>chromium-driver</c>, driven by Selenium)
/// against the real dashboard process: sign-in by login link, charts drawn by uPlot, live updates without a reload.
/// </summary>
public sealed class DashboardPageTests
{
    private const string Token = "browser-token-0123456789abcdef";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 120_000)]
    public async Task The_page_loads_draws_its_charts_and_shows_a_training_change_without_a_reload()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState().Populate(metricRecords: 300);
        using var scratch = new TempDirectory("st-browser");
        File.WriteAllText(scratch.File("token"), Token);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--token-file", scratch.File("token"), "--process-stale-after-s", "3600"]);

        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl($"{server.Url}/?token={Token}");

            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the stream to go live");
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "3 / 20", "the training card");
            await Until(() => driver.FindElement(By.Id("metrics-count")).Text == "300 records", "the metric history");
            await Until(() => driver.FindElements(By.CssSelector("#processes tbody tr")).Count == 2, "the process table");
            Assert.Equal("running", driver.FindElement(By.Id("training-state")).Text);
            foreach (var chart in new[] { "loss-chart", "accuracy-chart", "market-chart" })
            {
                var canvas = driver.FindElement(By.CssSelector($"#{chart} canvas"));
                Assert.True(canvas.Size.Width > 100 && canvas.Size.Height > 100, $"{chart} canvas is {canvas.Size}");
            }

            // A marker that a reload would wipe out.
            driver.ExecuteScript("window.__noReload = 42;");
            sample.WriteTraining(epoch: 9);
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "9 / 20", "the new epoch on the page");
            sample.AppendMetrics(5, firstEpoch: 4);
            await Until(() => driver.FindElement(By.Id("metrics-count")).Text == "305 records", "the new records on the page");

            Assert.Equal(42L, driver.ExecuteScript("return window.__noReload;"));
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
            Assert.Contains("exited with code 3", driver.FindElement(By.Id("events")).Text);
        }
        finally
        {
            SaveScreenshot(driver);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_login_link_signs_in_leaves_the_address_bar_reloads_signed_in_and_a_fresh_browser_gets_the_sign_in_page()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState().Populate(metricRecords: 50);
        using var scratch = new TempDirectory("st-browser");
        // No token given: the dashboard's own one, and the login link Start-Dashboard prints for it.
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--process-stale-after-s", "3600"]);
        var login = Engine.Services.DashboardToken.LoginUrl(server.Url, Engine.Services.DashboardToken.Read(Engine.Services.DashboardToken.PathFor(sample.State, "dashboard")));

        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl(login);
            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the stream to go live");
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "3 / 20", "the training card");
            Assert.DoesNotContain("token", driver.Url, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(server.Url + "/", driver.Url);
            SaveScreenshot(driver, "dashboard-login-signed-in.png");

            driver.ExecuteScript("window.__beforeReload = 1;");
            driver.Navigate().Refresh();
            await Until(() => driver.ExecuteScript("return window.__beforeReload === undefined;") is true, "the reload");
            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "live", "the stream to go live after the reload");
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "3 / 20", "the training card after the reload");
            Assert.DoesNotContain("token", driver.Url, StringComparison.OrdinalIgnoreCase);
            SaveScreenshot(driver, "dashboard-login-reloaded.png");

            var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
            Assert.True(errors.Count == 0, "console: " + string.Join(" | ", errors));
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
        }
        finally
        {
            SaveScreenshot(driver, "dashboard-login-final.png");
        }

        using var stranger = StartBrowser(chromium, chromedriver, scratch.File("stranger-profile"));
        try
        {
            stranger.Navigate().GoToUrl(server.Url + "/");
            await Until(() => stranger.FindElement(By.TagName("h1")).Text == "Sign in", "the sign-in page");
            Assert.Empty(stranger.FindElements(By.Id("training-epoch")));
        }
        finally
        {
            SaveScreenshot(stranger, "dashboard-login-fresh-browser.png");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task When_no_stream_is_available_the_page_polls_and_still_follows_changes()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState().Populate(metricRecords: 20);
        using var scratch = new TempDirectory("st-browser");
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--max-stream-clients", "1", "--process-stale-after-s", "3600"]);
        // Take the only stream slot: the page's stream gets 503.
        await using var occupant = await SseClient.ConnectAsync(server.Client);
        (await occupant.NextAsync("hello")).Dispose();
        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl(Engine.Services.DashboardToken.LoginUrl(server.Url, server.OwnToken!));

            await Until(() => driver.FindElement(By.Id("connection")).GetAttribute("data-mode") == "polling", "the fallback to polling");
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "3 / 20", "the training card from a poll");
            sample.WriteTraining(epoch: 12);
            await Until(() => driver.FindElement(By.Id("training-epoch")).Text == "12 / 20", "the new epoch from a later poll");

            Assert.Equal("polling", driver.FindElement(By.Id("connection")).GetAttribute("data-mode"));
        }
        finally
        {
            SaveScreenshot(driver, "dashboard-page-polling.png");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_queued_Slurm_job_shows_on_the_processes_card_with_why_it_waits_then_its_node()
    {
        var chromium = Find("chromium", "chromium-browser");
        var chromedriver = Find("chromedriver");
        if (chromium is null || chromedriver is null)
        {
            Assert.Skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver).");
        }

        using var sample = new SampleState().Populate(metricRecords: 10);
        // A service submitted to Slurm and still queued: no status yet, only the record the submit wrote.
        sample.State.EnsureServiceDirectory("sweep");
        var record = Engine.Services.SlurmLauncher.RecordPath(sample.State, "sweep");
        sample.Data.Store.Write(record, new Engine.Models.SlurmJobRecord
        {
            JobId = "4712", SubmittedAt = SampleState.Start, SubmitHost = "login1", JobState = "PENDING", Reason = "Resources", ObservedAt = DateTimeOffset.UtcNow,
        });
        using var scratch = new TempDirectory("st-browser");
        File.WriteAllText(scratch.File("token"), Token);
        await using var server = await DashboardServer.StartProcessAsync(sample.Root, ["--token-file", scratch.File("token"), "--process-stale-after-s", "3600"]);

        using var driver = StartBrowser(chromium, chromedriver, scratch.File("profile"));
        try
        {
            driver.Navigate().GoToUrl($"{server.Url}/?token={Token}");
            string Sweep() => driver.FindElement(By.CssSelector("#processes tbody tr[data-service='sweep']")).Text;

            await Until(() => Sweep().Contains("Slurm job 4712 pending: Resources, as of", StringComparison.Ordinal), "the queued job and its reason");

            sample.Data.Store.Update<Engine.Models.SlurmJobRecord>(record, r => r! with { JobState = "RUNNING", Reason = null, Node = "node7", ObservedAt = DateTimeOffset.UtcNow });

            await Until(() => Sweep().Contains("Slurm job 4712 on node7", StringComparison.Ordinal), "the job on its node, without a reload");
            Assert.DoesNotContain("pending", Sweep(), StringComparison.Ordinal);
            Assert.Null(driver.ExecuteScript("return document.body.dataset.cspViolations || null;"));
        }
        finally
        {
            SaveScreenshot(driver, "dashboard-page-slurm.png");
        }
    }

    internal static ChromeDriver StartBrowser(string chromium, string chromedriver, string profile)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(chromedriver)!, Path.GetFileName(chromedriver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1400,1900", $"--user-data-dir={profile}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        // Disposing the driver quits Chromium and stops chromedriver.
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    internal static void SaveScreenshot(ChromeDriver driver, string name = "dashboard-page.png")
    {
        var screenshot = driver.GetScreenshot();
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(folder);
        screenshot.SaveAsFile(Path.Combine(folder, name));
        TestContext.Current.AddAttachment(name, screenshot.AsByteArray, "image/png");
    }

    internal static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Wait)
        {
            try
            {
                if (condition())
                {
                    return;
                }
            }
            catch (NoSuchElementException)
            {
                // Not drawn yet.
            }
            catch (StaleElementReferenceException)
            {
                // Redrawn while looked at.
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Timed out after {Wait.TotalSeconds:0} s waiting for {what}.");
    }

    internal static string? Find(params string[] names) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(Path.PathSeparator)
            .SelectMany(dir => names.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);
}
