using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Threading.Channels;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>Reads <c>/api/stream</c> in the background; tests wait for the event they expect, with a deadline.</summary>
internal sealed class SseClient : IAsyncDisposable
{
    private readonly Channel<SseItem<string>> _items = Channel.CreateUnbounded<SseItem<string>>();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpResponseMessage _response;
    private readonly Task _reader;

    private SseClient(HttpResponseMessage response)
    {
        _response = response;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<SseClient> ConnectAsync(HttpClient client, string path = "api/stream")
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return new SseClient(response);
    }

    /// <summary>The next event of <paramref name="type"/> whose data satisfies <paramref name="match"/>, skipping others.</summary>
    public async Task<JsonDocument> NextAsync(string type, Func<JsonDocument, bool>? match = null, TimeSpan? timeout = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        var seen = new List<string>();
        try
        {
            while (true)
            {
                var item = await _items.Reader.ReadAsync(deadline.Token);
                seen.Add(item.EventType);
                if (item.EventType != type)
                {
                    continue;
                }

                var doc = JsonDocument.Parse(item.Data);
                if (match is null || match(doc))
                {
                    return doc;
                }

                doc.Dispose();
            }
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No matching '{type}' event in time; saw: {string.Join(", ", seen)}");
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(_stop.Token))
            {
                await _items.Writer.WriteAsync(item, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped, or the server went away.
        }
        finally
        {
            _items.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reader;
        _stop.Dispose();
    }
}
