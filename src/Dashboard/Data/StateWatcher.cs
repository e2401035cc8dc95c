using Microsoft.Extensions.Logging;
using StabilityTools.Engine.State;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// Watches the state directory's files and marks the matching topics dirty. Only a fast path: the refresh
/// service polls every file anyway, so a watch that cannot be set up (a missing directory, a network file
/// system, inotify limits) or that overflows costs freshness, never correctness. <see cref="EnsureStarted"/>
/// is called on every poll and sets up whatever watch is missing.
/// </summary>
internal sealed class StateWatcher : IDisposable
{
    private readonly StateDirectory _state;
    private readonly Action<DashboardTopic> _onChange;
    private readonly ILogger _logger;
    private readonly bool _enabled;
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _disposed;

    public StateWatcher(DashboardData data, ILogger<StateWatcher> logger)
    {
        _state = data.State;
        _onChange = data.MarkDirty;
        _logger = logger;
        _enabled = data.Options.UseFileSystemWatch;
        if (_enabled && Engine.Platform.MountTable.FileSystemOf(_state.Root) is { IsShared: true } fs)
        {
            // inotify sees only this machine's writes: a trainer running as a cluster job on another node writes
            // unseen. The poll (--poll-interval-ms) sees every writer, so it alone serves here.
            _enabled = false;
            logger.LogInformation("State directory {Root} is on a shared {Type} file system: polling only, as watches do not cross machines", _state.Root, fs.Type);
        }
    }

    /// <summary>True when every directory the dashboard reads is watched.</summary>
    public bool IsWatching
    {
        get
        {
            lock (_gate)
            {
                return _enabled && _watchers.Count == 5;
            }
        }
    }

    /// <summary>Sets up the watches that are missing; never throws.</summary>
    public void EnsureStarted()
    {
        if (!_enabled)
        {
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            Watch(_state.Root, recursive: false, RootTopic);
            Watch(_state.DataDirectory, recursive: false, DataTopic);
            // Recursive: a run's documents live one level down, and a new run folder may be the one to show.
            Watch(_state.RunsDirectory, recursive: true, RunsTopic);
            Watch(_state.ResourcesDirectory, recursive: false, name => name == "quotas.json" ? DashboardTopic.Resources : DashboardTopic.None);
            // Recursive: status.json lives one level down, and a new service directory is a change to show.
            Watch(_state.ServicesDirectory, recursive: true, ServicesTopic);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var watcher in _watchers.Values)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
        }
    }

    private DashboardTopic RootTopic(string name) => name switch
    {
        "events.jsonl" => DashboardTopic.Events,
        // A directory the dashboard reads appeared (or went): everything may have changed.
        "data" or "services" or "resources" or "runs" => DashboardTopic.All,
        _ => DashboardTopic.None,
    };

    private static DashboardTopic DataTopic(string name) => name switch
    {
        "training_status.json" or "model_metrics.json" => DashboardTopic.Training,
        "metrics.jsonl" => DashboardTopic.Metrics,
        "market_data.json" => DashboardTopic.Market,
        _ => DashboardTopic.None,
    };

    private static DashboardTopic RunsTopic(string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        // A new run folder may be the one to show, and is a run to list; a run's record changes when it starts and ends.
        return parts.Length == 1 ? DashboardTopic.Processes | DashboardTopic.Runs
            : parts.Length == 2 ? parts[1] == "run.json" ? DashboardTopic.Runs : DataTopic(parts[1])
            : DashboardTopic.None;
    }

    private static DashboardTopic ServicesTopic(string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        // slurm.json: what Slurm last said of a service's job (queued, and why), noted by whichever command asked.
        return parts.Length == 1 || (parts.Length == 2 && parts[1] is "status.json" or "slurm.json") ? DashboardTopic.Processes : DashboardTopic.None;
    }

    private void Watch(string directory, bool recursive, Func<string, DashboardTopic> topicOf)
    {
        if (_watchers.ContainsKey(directory) || !Directory.Exists(directory))
        {
            return;
        }

        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = recursive,
                InternalBufferSize = 64 * 1024,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            void OnEvent(object sender, FileSystemEventArgs e)
            {
                var topics = topicOf(e.Name ?? "");
                if (e is RenamedEventArgs renamed)
                {
                    topics |= topicOf(renamed.OldName ?? "");
                }

                if (topics != DashboardTopic.None)
                {
                    _onChange(topics);
                }
            }

            watcher.Changed += OnEvent;
            watcher.Created += OnEvent;
            watcher.Deleted += OnEvent;
            watcher.Renamed += OnEvent;
            watcher.Error += (_, e) => OnError(directory, e.GetException());
            watcher.EnableRaisingEvents = true;
            _watchers[directory] = watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            _logger.LogWarning("Cannot watch {Directory} ({Message}); polling it instead.", directory, ex.Message);
        }
    }

    private void OnError(string directory, Exception error)
    {
        // An overflow lost events, or the directory went away: drop the watch (the next poll re-creates it)
        // and re-read everything now.
        _logger.LogWarning("The watch on {Directory} failed ({Message}); re-reading everything.", directory, error.Message);
        lock (_gate)
        {
            if (_watchers.Remove(directory, out var watcher))
            {
                watcher.Dispose();
            }
        }

        _onChange(DashboardTopic.All);
    }
}
