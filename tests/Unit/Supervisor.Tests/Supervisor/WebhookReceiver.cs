using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StabilityTools.Supervisor.Tests.Supervisor;

/// <summary>
/// A real HTTP endpoint on 127.0.0.1 that records every POST body it receives and answers 200, or, when
/// <see cref="Hang"/> is set, reads the request and never answers (a webhook that hangs).
/// </summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public WebhookReceiver(bool hang = false)
    {
        Hang = hang;
        // A free port: bind one, release it, and let HttpListener take it (a race only with another binder in between).
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        Url = $"http://127.0.0.1:{Port}/hook/secret-token";
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public bool Hang { get; }

    public int Port { get; }

    public string Url { get; }

    /// <summary>The bodies received, in order, parsed.</summary>
    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                Bodies.Enqueue(JsonDocument.Parse(body).RootElement.Clone());
                if (Hang)
                {
                    // Never answer: the sender's timeout has to end it.
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { });
                    return;
                }

                context.Response.StatusCode = 200;
                context.Response.Close();
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
