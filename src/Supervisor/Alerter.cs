using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serilog;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Runs the spec's alert command and/or posts to its webhook with the event as JSON, at most once per
/// <c>alert_min_interval_ms</c>; alerts in between are counted and the count is sent with the next one.
/// Fire and forget: an alert never blocks or fails supervision. Each delivery is recorded as an event (<c>alert_sent</c>
/// or <c>alert_failed</c>, rule <c>spec</c>), like those of the rules in alerts.json (<see cref="AlertDispatcher"/>).
/// </summary>
internal sealed class Alerter
{
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Action<Process> _startChild;
    private readonly Action<int> _childEnded;
    private readonly Action<string, EventSeverity, string, (string Key, string Value)[]> _record;
    private readonly List<Task> _pending = [];
    private HttpClient? _http;
    private DateTimeOffset? _lastSent;
    private int _suppressed;

    /// <param name="time">The clock of the rate limit.</param>
    /// <param name="log">The supervisor's log.</param>
    /// <param name="startChild">Starts a child process and registers it as one .NET reaps (so the orphan reaper leaves it alone).</param>
    /// <param name="childEnded">Unregisters it once reaped.</param>
    /// <param name="record">Writes an event (type, severity, message, data); called from delivery tasks. Default: none.</param>
    public Alerter(TimeProvider time, ILogger log, Action<Process> startChild, Action<int> childEnded,
        Action<string, EventSeverity, string, (string Key, string Value)[]>? record = null)
    {
        _record = record ?? ((_, _, _, _) => { });
        _time = time;
        _log = log;
        _startChild = startChild;
        _childEnded = childEnded;
    }

    public int Sent { get; private set; }

    public int Suppressed => _suppressed;

    public void Alert(ServiceSpec spec, StabilityEvent stabilityEvent)
    {
        if (spec.AlertCommand is null && spec.AlertWebhookUrl is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        if (_lastSent is { } last && now - last < TimeSpan.FromMilliseconds(spec.AlertMinIntervalMs))
        {
            _suppressed++;
            _log.Information("Alert for {Type} suppressed by the rate limit ({Suppressed} so far)", stabilityEvent.Type, _suppressed);
            return;
        }

        _lastSent = now;
        var data = new Dictionary<string, string>(stabilityEvent.Data ?? new Dictionary<string, string>())
        {
            ["suppressed_alerts"] = _suppressed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        _suppressed = 0;
        Sent++;
        var json = JsonSerializer.Serialize(stabilityEvent with { Data = data }, StatusJson.TypeInfo<StabilityEvent>());
        if (spec.AlertCommand is { Count: > 0 } command)
        {
            RunCommand(command, json);
        }

        if (spec.AlertWebhookUrl is { } url)
        {
            Track(PostAsync(url, json));
        }
    }

    /// <summary>Waits (bounded) for alerts still in flight, so a supervisor that ends on a fatal event still delivers it.</summary>
    public async Task DrainAsync(TimeSpan bound)
    {
        Task[] pending;
        lock (_pending)
        {
            pending = [.. _pending];
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(bound, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Warning("{Count} alerts were still in flight after {Bound}", pending.Count(t => !t.IsCompleted), bound);
        }
    }

    private void Track(Task task)
    {
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    private void RunCommand(IReadOnlyList<string> command, string json)
    {
        try
        {
            var process = new Process { StartInfo = Engine.Alerts.AlertSender.CommandStartInfo(command, "STABILITY_EVENT", json) };
            _startChild(process);

            Track(FinishAsync(process, json));
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            _log.Warning(ex, "The alert command {Command} could not be started", command[0]);
        }
    }

    private async Task FinishAsync(Process process, string json)
    {
        var pid = process.Id;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.StandardInput.WriteAsync(json.AsMemory(), timeout.Token).ConfigureAwait(false);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            var stderr = await error.ConfigureAwait(false);
            _log.Information("The alert command exited with code {ExitCode}: {Output} {Error}", process.ExitCode, await output.ConfigureAwait(false), stderr);
            Record(process.ExitCode == 0, process.StartInfo.FileName, process.ExitCode == 0 ? null : $"The spec's alert_command exited with code {process.ExitCode}: {stderr.Trim()}",
                ("exit_code", process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            _log.Warning(ex, "The alert command (pid {Pid}) did not finish within 30 s; killing it", pid);
            Record(false, process.StartInfo.FileName, "The spec's alert_command did not finish within 30 s and was killed.");
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile.
            }
        }
        finally
        {
            _childEnded(pid);
            process.Dispose();
        }
    }

    private async Task PostAsync(string url, string json)
    {
        try
        {
            _http ??= new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var content = new StringContent(json, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync(url, content).ConfigureAwait(false);
            _log.Information("Alert posted to {Url}: HTTP {StatusCode}", url, (int)response.StatusCode);
            Record(response.IsSuccessStatusCode, Target(url), response.IsSuccessStatusCode ? null : $"The spec's alert_webhook_url answered HTTP {(int)response.StatusCode}.",
                ("status_code", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            _log.Warning(ex, "The alert webhook {Url} failed", url);
            Record(false, Target(url), $"The spec's alert_webhook_url failed: {ex.Message}");
        }
    }

    // Never the URL's path in an event: it often holds a token.
    private static string Target(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}" : "(webhook)";

    private void Record(bool succeeded, string target, string? error, params (string Key, string Value)[] extra)
    {
        (string Key, string Value)[] data = [("rule", "spec"), ("target", target), .. extra, .. error is null ? Array.Empty<(string, string)>() : [("error", error)]];
        if (succeeded)
        {
            _record("alert_sent", EventSeverity.Info, $"The spec's alert went to {target}.", data);
        }
        else
        {
            _record("alert_failed", EventSeverity.Warning, $"The spec's alert could not be sent to {target}: {error}", data);
        }
    }
}
