using StabilityTools.Engine.Models;

namespace StabilityTools.Supervisor;

/// <summary>
/// Probes a service's health URL (the dashboard's <c>/healthz</c>): the first success promotes a starting run to
/// running; no answer within the startup timeout, or too many failures in a row once running, is a hang. It only
/// posts messages; the loop decides.
/// </summary>
internal sealed class HealthProbe(TimeProvider time, Action<SupervisorMessage> post) : IDisposable
{
    private HttpClient? _http;

    /// <summary>Probes until the run ends (<paramref name="cancellationToken"/>) or a hang has been posted.</summary>
    public async Task RunAsync(ServiceRun run, ServiceSpec spec, CancellationToken cancellationToken)
    {
        // Each probe on a fresh connection, closed after the answer: a pooled connection would still get answers from a
        // dashboard that refuses every new client (all its connections taken), and the probe would call it healthy.
        // The certificate is not checked: the probe sends nothing secret and reads only the status code.
        _http ??= new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromMilliseconds(spec.HealthTimeoutMs),
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        var failures = 0;
        var startDeadline = time.GetUtcNow() + TimeSpan.FromMilliseconds(spec.StartupTimeoutMs);
        string? lastError = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var ok = false;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(spec.HealthTimeoutMs);
                    using var request = new HttpRequestMessage(HttpMethod.Get, spec.HealthUrl) { Headers = { ConnectionClose = true } };
                    using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                    ok = response.IsSuccessStatusCode;
                    lastError = ok ? null : $"HTTP {(int)response.StatusCode}";
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    lastError = ex.Message;
                }

                if (!run.Promoted)
                {
                    if (ok)
                    {
                        post(new SupervisorMessage.Promote(run));
                    }
                    else if (time.GetUtcNow() > startDeadline)
                    {
                        post(new SupervisorMessage.Hung(run, $"{spec.HealthUrl} did not answer within {spec.StartupTimeoutMs / 1000.0:0.#} s of the start ({lastError})."));
                        return;
                    }
                }
                else
                {
                    failures = ok ? 0 : failures + 1;
                    if (failures >= spec.HealthFailureThreshold)
                    {
                        post(new SupervisorMessage.Hung(run, $"{spec.HealthUrl} failed {failures} probes in a row ({lastError})."));
                        return;
                    }
                }

                await Task.Delay(run.Promoted ? TimeSpan.FromMilliseconds(spec.HealthIntervalMs) : TimeSpan.FromMilliseconds(100), time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }

    public void Dispose() => _http?.Dispose();
}
