using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Watches <c>control.json</c>: a file-system watch for an immediate reaction, and a poll every
/// <see cref="PollInterval"/> where watches do not work (network file systems) or an event was missed.
/// Each new <c>request_id</c> is posted once.
/// </summary>
internal sealed class ControlWatcher : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _path;
    private readonly StatusStore _store;
    private readonly Action<ControlRequest, int?> _post;
    private readonly object _gate = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _poll;
    private string? _lastId;

    /// <param name="path">The control file.</param>
    /// <param name="store">Reads it.</param>
    /// <param name="alreadyHandledId">The last request acknowledged before this supervisor started (not posted again).</param>
    /// <param name="post">Gets each new request with the uid that owns the file it came in, as the kernel says (null where there are no owners).</param>
    /// <param name="time">The poll's clock.</param>
    public ControlWatcher(string path, StatusStore store, string? alreadyHandledId, Action<ControlRequest, int?> post, TimeProvider time)
    {
        _path = path;
        _store = store;
        _post = post;
        _lastId = alreadyHandledId;
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            _watcher.Created += OnEvent;
            _watcher.Changed += OnEvent;
            _watcher.Renamed += OnEvent;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // No watches here (inotify limits, network file system): the poll alone serves.
            _watcher = null;
        }

        _poll = time.CreateTimer(_ => Check(), null, PollInterval, PollInterval);
        Check();
    }

    public bool Watching => _watcher is not null;

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        if (string.Equals(e.Name, "control.json", StringComparison.Ordinal))
        {
            Check();
        }
    }

    /// <summary>Reads the request when the file changed; posts it when its id is new.</summary>
    public void Check()
    {
        lock (_gate)
        {
            // Always read: two requests can land within one tick of the file system's timestamps, and a read of
            // this small file costs less than telling them apart another way.
            var read = _store.Read<ControlRequest>(_path);
            if (read.Document is not { } request || string.IsNullOrEmpty(request.RequestId))
            {
                return;
            }

            if (request.RequestId == _lastId)
            {
                return;
            }

            _lastId = request.RequestId;
            _post(request, read.OwnerUid);
        }
    }

    public void Dispose()
    {
        _poll.Dispose();
        _watcher?.Dispose();
    }
}
