using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Alerts;

/// <summary>
/// Delivers a notice through a rule's target: a POST of its body to the webhook, or the rule's command with the JSON
/// notice on stdin and in <c>STABILITY_ALERT</c>. Every delivery is bounded by <see cref="AlertRule.TimeoutMs"/> (a
/// webhook that never answers, a command that never exits: killed) and reports how it went; it never throws for the
/// target's failure. Thread-safe.
/// </summary>
public sealed class AlertSender : IDisposable
{
    private const int OutputCap = 4096;
    private readonly HttpClient _http;
    private readonly Action<Process> _start;
    private readonly Action<int> _ended;

    /// <param name="start">Starts a command's process (the supervisor registers it as a child it reaps). Default: <see cref="Process.Start()"/>.</param>
    /// <param name="ended">Told the pid once the command's process is reaped.</param>
    /// <param name="handler">The HTTP handler (tests). Default: a plain <see cref="SocketsHttpHandler"/> that follows no redirects.</param>
    public AlertSender(Action<Process>? start = null, Action<int>? ended = null, HttpMessageHandler? handler = null)
    {
        _start = start ?? (p => p.Start());
        _ended = ended ?? (_ => { });
        // No redirects: a notice goes where the rule says, not where an answer points; the per-request bound decides the timeout.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The target as events and results show it: a webhook's scheme, host and port only (its path often holds a token), or a command's program.</summary>
    public static string DescribeTarget(AlertRule rule) =>
        rule.WebhookUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}"
        : rule.Command is { Count: > 0 } command ? command[0]
        : "(none)";

    /// <summary>Sends <paramref name="notice"/> through <paramref name="rule"/>'s target, within the rule's timeout.</summary>
    public Task<AlertDeliveryResult> SendAsync(AlertRule rule, AlertNotice notice, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(notice);
        return rule.WebhookUrl is { } url
            ? PostAsync(rule, url, AlertPayload.Build(notice, rule.Format), cancellationToken)
            : RunAsync(rule, AlertPayload.Build(notice, AlertFormat.Json), cancellationToken);
    }

    private async Task<AlertDeliveryResult> PostAsync(AlertRule rule, string url, string body, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var target = DescribeTarget(rule);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(rule.TimeoutMs);
        try
        {
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            using var response = await _http.PostAsync(url, content, bound.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new AlertDeliveryResult(rule.Name, target, true, code, null, null, watch.Elapsed)
                : new AlertDeliveryResult(rule.Name, target, false, code, null, $"The webhook answered HTTP {code} {response.ReasonPhrase}: check its URL and that it accepts a JSON POST.", watch.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AlertDeliveryResult(rule.Name, target, false, null, null, $"The webhook did not answer within {rule.TimeoutMs} ms (timeout_ms): check that it is up and reachable.", watch.Elapsed);
        }
        catch (HttpRequestException ex)
        {
            return new AlertDeliveryResult(rule.Name, target, false, null, null, $"The webhook could not be reached: {ex.Message}", watch.Elapsed);
        }
    }

    private async Task<AlertDeliveryResult> RunAsync(AlertRule rule, string json, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var command = rule.Command!;
        var target = DescribeTarget(rule);
        var process = new Process { StartInfo = CommandStartInfo(command, "STABILITY_ALERT", json) };
        try
        {
            _start(process);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            process.Dispose();
            return new AlertDeliveryResult(rule.Name, target, false, null, null, $"The command '{command[0]}' could not be started: {ex.Message}", watch.Elapsed);
        }

        var pid = process.Id;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(rule.TimeoutMs);
        try
        {
            var error = ReadCappedAsync(process.StandardError, bound.Token);
            var output = ReadCappedAsync(process.StandardOutput, bound.Token);
            try
            {
                await process.StandardInput.WriteAsync(json.AsMemory(), bound.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It does not read its stdin (it may use STABILITY_ALERT): fine.
            }

            await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
            var stderr = await error.ConfigureAwait(false);
            await output.ConfigureAwait(false);
            var code = process.ExitCode;
            return code == 0
                ? new AlertDeliveryResult(rule.Name, target, true, null, code, null, watch.Elapsed)
                : new AlertDeliveryResult(rule.Name, target, false, null, code, $"The command '{command[0]}' exited with code {code}{(stderr.Length > 0 ? $": {stderr.Trim()}" : ".")}", watch.Elapsed);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile.
            }

            return new AlertDeliveryResult(rule.Name, target, false, null, null, $"The command '{command[0]}' did not finish within {rule.TimeoutMs} ms (timeout_ms) and was killed.", watch.Elapsed);
        }
        finally
        {
            _ended(pid);
            process.Dispose();
        }
    }

    private static async Task<string> ReadCappedAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new char[1024];
        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (text.Length < OutputCap)
            {
                text.Append(buffer, 0, Math.Min(read, OutputCap - text.Length));
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    /// <summary>
    /// How an alert command is started, by the rules' sender and the older spec.json alert alike: no shell, its own
    /// arguments, the payload in <paramref name="variable"/>, every stream redirected so that it never writes on the
    /// supervisor's own output.
    /// </summary>
    public static ProcessStartInfo CommandStartInfo(IReadOnlyList<string> command, string variable, string json)
    {
        ArgumentNullException.ThrowIfNull(command);
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[variable] = json;
        return info;
    }
}
