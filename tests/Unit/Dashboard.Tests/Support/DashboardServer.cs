using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using StabilityTools.Dashboard.Hosting;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>
/// A running dashboard on a free loopback port: either the real <c>stability-dashboard</c> as a separate
/// process (port 0; the URL is read from its start-up line) or the app built in-process by
/// <see cref="DashboardApp.Build"/>. Disposing stops it and waits until it is gone.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process? _process;
    private readonly WebApplication? _app;
    private readonly StringBuilder _stderr;
    private StringBuilder _stdout = new();

    private DashboardServer(string url, Process? process, WebApplication? app, StringBuilder stderr, string? ownToken = null)
    {
        Url = url.TrimEnd('/');
        _process = process;
        _app = app;
        _stderr = stderr;
        OwnToken = ownToken;
        Client = CreateClient();
    }

    public string Url { get; }

    /// <summary>
    /// The dashboard's own token (its token file in the state directory, or one made for an in-process app) when the test
    /// chose none: <see cref="Client"/> then sends it as a Bearer token, as a script would.
    /// </summary>
    public string? OwnToken { get; }

    /// <summary>A client without cookies or redirects, for exact assertions; with <see cref="OwnToken"/> as Bearer when there is one.</summary>
    public HttpClient Client { get; }

    public Process? Process => _process;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string DashboardPath => TestPrograms.Metadata("DashboardPath");

    public HttpClient CreateClient(CookieContainer? cookies = null, bool allowRedirects = false, bool authenticate = true)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = allowRedirects,
            UseCookies = cookies is not null,
            CookieContainer = cookies ?? new CookieContainer(),
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = new Uri(Url + "/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (authenticate && OwnToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OwnToken);
        }

        return client;
    }

    /// <summary>Starts the real executable; <paramref name="arguments"/> come after <c>--state-dir DIR --port 0</c>.</summary>
    public static async Task<DashboardServer> StartProcessAsync(string stateDirectory, IEnumerable<string>? arguments = null, IDictionary<string, string>? environment = null)
    {
        string[] given = [.. arguments ?? []];
        var process = StartRaw(["--state-dir", stateDirectory, "--port", "0", .. given], environment, out var stdout, out var stderr);
        // No token chosen: the dashboard makes its own in services/<name>/dashboard.token, as it does for everyone.
        var nameAt = Array.IndexOf(given, "--name");
        var ownTokenPath = given.Contains("--token-file") || given.Contains("--no-auth") || environment?.ContainsKey(DashboardCommandLine.TokenVariable) == true
            ? null
            : Path.Combine(stateDirectory, "services", nameAt >= 0 ? given[nameAt + 1] : "dashboard", "dashboard.token");
        var started = Stopwatch.StartNew();
        while (started.Elapsed < StartTimeout)
        {
            string? line;
            lock (stdout)
            {
                line = stdout.ToString().Split('\n').FirstOrDefault(l => l.Contains("serving http", StringComparison.Ordinal));
            }

            if (line is not null)
            {
                var url = line[line.IndexOf("http", StringComparison.Ordinal)..].Split(' ')[0];
                return new DashboardServer(url, process, null, stderr, ownTokenPath is null ? null : File.ReadAllText(ownTokenPath).Trim()) { _stdout = stdout };
            }

            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"stability-dashboard exited with {process.ExitCode} before serving: {stderr}");
            }

            await Task.Delay(20);
        }

        Kill(process);
        throw new TimeoutException($"stability-dashboard did not start within {StartTimeout}: {stderr}");
    }

    /// <summary>Starts the executable and returns at once, capturing both streams (for exit-code tests).</summary>
    public static Process StartRaw(IEnumerable<string> arguments, IDictionary<string, string>? environment, out StringBuilder stdout, out StringBuilder stderr)
    {
        var outText = new StringBuilder();
        var errText = new StringBuilder();
        var process = TestPrograms.Start(DashboardPath, arguments, environment);
        process.OutputDataReceived += (_, e) =>
        {
            lock (outText)
            {
                outText.Append(e.Data).Append('\n');
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errText)
            {
                errText.Append(e.Data).Append('\n');
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stdout = outText;
        stderr = errText;
        return process;
    }

    /// <summary>Builds and starts the app in this process on a free port.</summary>
    public static async Task<DashboardServer> StartInProcessAsync(DashboardOptions options)
    {
        options.Port = 0;
        string? ownToken = null;
        if (options.Token is null && !options.NoAuthentication)
        {
            options.Token = ownToken = Engine.Services.DashboardToken.Generate();
        }

        var app = DashboardApp.Build(options, logging => logging.ClearProviders());
        await app.StartAsync();
        return new DashboardServer(DashboardApp.ServedUrl(app), null, app, new StringBuilder(), ownToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }

        if (_process is not null)
        {
            Kill(_process);
            _process.Dispose();
        }
    }

    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"stability-dashboard (pid {process.Id}) survived a kill.");
        }
    }
}
