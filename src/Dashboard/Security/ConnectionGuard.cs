using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace StabilityTools.Dashboard.Security;

/// <summary>
/// Bounds the connections the dashboard holds, before any request is read: at most
/// <see cref="Hosting.DashboardOptions.MaxConnectionsPerClient"/> per client address and
/// <see cref="Hosting.DashboardOptions.MaxConnections"/> in all. A new connection past a bound does not wait and is not
/// refused: the oldest <em>idle</em> connection (of that client, else of anyone) is closed to make room, like a
/// browser's own pool does. So a client that opens hundreds of idle keep-alive connections only ever holds its own
/// share, and a fresh connection — the supervisor's health probe, the owner's browser — is always served. Only when
/// every held connection is busy with a request is the new one closed at once.
/// </summary>
/// <remarks>
/// Concurrency: Kestrel calls <see cref="OnConnectionAsync"/> on its own threads, one call per connection for its
/// whole life; the request pipeline marks a connection busy through <see cref="Busy"/>. The lists are guarded by one
/// lock held only for list edits; aborting a connection happens outside it.
/// </remarks>
internal sealed class ConnectionGuard(int maxPerClient, int maxTotal)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, LinkedList<Entry>> _byClient = [];
    private readonly LinkedList<Entry> _all = new();
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private long _evicted;
    private long _refused;

    /// <summary>Connections open now.</summary>
    public int Open
    {
        get
        {
            lock (_gate)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>Idle connections closed to make room since start.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>New connections closed because every held one was busy.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The Kestrel connection middleware.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var client = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        var entry = new Entry(connection, client);
        Entry? victim;
        bool admitted;
        lock (_gate)
        {
            if (!_byClient.TryGetValue(client, out var mine))
            {
                _byClient[client] = mine = new LinkedList<Entry>();
            }

            victim = mine.Count >= maxPerClient ? OldestIdle(mine) : null;
            victim ??= _all.Count >= maxTotal ? OldestIdle(_all) : null;
            admitted = victim is not null || (mine.Count < maxPerClient && _all.Count < maxTotal);
            if (victim is not null)
            {
                Detach(victim);
            }

            if (admitted)
            {
                entry.ClientNode = mine.AddLast(entry);
                entry.AllNode = _all.AddLast(entry);
            }
            else if (mine.Count == 0)
            {
                _byClient.Remove(client);
            }
        }

        if (victim is not null)
        {
            Interlocked.Increment(ref _evicted);
            victim.Connection.Abort(new ConnectionAbortedException("Closed to make room for a newer connection (connection bound)."));
        }

        if (!admitted)
        {
            Interlocked.Increment(ref _refused);
            connection.Abort(new ConnectionAbortedException("Every connection this client may hold is busy (connection bound)."));
            return;
        }

        _byId[connection.ConnectionId] = entry;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _byId.TryRemove(connection.ConnectionId, out _);
            lock (_gate)
            {
                Detach(entry);
            }
        }
    }

    /// <summary>Marks the request's connection busy until the returned scope ends, so it is never closed to make room.</summary>
    public BusyScope Busy(HttpContext context)
    {
        if (_byId.TryGetValue(context.Connection.Id, out var entry))
        {
            Interlocked.Increment(ref entry.Requests);
            return new BusyScope(entry);
        }

        return default;
    }

    private static Entry? OldestIdle(LinkedList<Entry> list)
    {
        for (var node = list.First; node is not null; node = node.Next)
        {
            if (Volatile.Read(ref node.Value.Requests) == 0)
            {
                return node.Value;
            }
        }

        return null;
    }

    private void Detach(Entry entry)
    {
        if (entry.AllNode is { } all)
        {
            _all.Remove(all);
            entry.AllNode = null;
        }

        if (entry.ClientNode is { } node && _byClient.TryGetValue(entry.Client, out var mine))
        {
            mine.Remove(node);
            entry.ClientNode = null;
            if (mine.Count == 0)
            {
                _byClient.Remove(entry.Client);
            }
        }
    }

    /// <summary>Ends a request's busy mark.</summary>
    internal readonly struct BusyScope(Entry? entry) : IDisposable
    {
        public void Dispose()
        {
            if (entry is not null)
            {
                Interlocked.Decrement(ref entry.Requests);
            }
        }
    }

    internal sealed class Entry(ConnectionContext connection, IPAddress client)
    {
        public int Requests;

        public ConnectionContext Connection { get; } = connection;

        public IPAddress Client { get; } = client;

        public LinkedListNode<Entry>? ClientNode { get; set; }

        public LinkedListNode<Entry>? AllNode { get; set; }
    }
}
