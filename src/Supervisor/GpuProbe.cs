using System.Diagnostics;
using System.Globalization;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Supervisor;

/// <summary>
/// GPU memory per process from <c>nvidia-smi --query-compute-apps=pid,used_memory</c>, when the machine has it
/// (<c>$STABILITY_NVIDIA_SMI</c> overrides where it is). nvidia-smi takes tens of milliseconds, so it runs at most
/// every few seconds, off the heartbeat, and its last answer is reused in between.
/// </summary>
internal sealed class GpuProbe
{
    /// <summary>The variable that names the nvidia-smi to use.</summary>
    public const string ProgramVariable = "STABILITY_NVIDIA_SMI";

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private readonly string? _program;
    private readonly Action<Process> _startChild;
    private readonly Action<int> _childEnded;
    private IReadOnlyDictionary<int, double> _usage = new Dictionary<int, double>();
    private long _lastStarted;
    private int _running;

    public GpuProbe(Action<Process> startChild, Action<int> childEnded)
    {
        _startChild = startChild;
        _childEnded = childEnded;
        _program = Environment.GetEnvironmentVariable(ProgramVariable) is { Length: > 0 } configured
            ? ExecutableResolver.Resolve(configured)
            : ExecutableResolver.Resolve("nvidia-smi");
    }

    /// <summary>True when there is a probe at all; without one GPU memory is reported as unknown (null).</summary>
    public bool Available => _program is not null;

    /// <summary>MB of GPU memory used by <paramref name="pids"/> in the last answer; null without a probe. Starts a new query when due.</summary>
    public double? UsedBy(IEnumerable<int> pids)
    {
        if (_program is null)
        {
            return null;
        }

        if (Stopwatch.GetElapsedTime(_lastStarted) >= Interval && Interlocked.Exchange(ref _running, 1) == 0)
        {
            _lastStarted = Stopwatch.GetTimestamp();
            _ = QueryAsync();
        }

        var usage = _usage;
        return pids.Sum(p => usage.TryGetValue(p, out var mb) ? mb : 0);
    }

    private async Task QueryAsync()
    {
        try
        {
            var info = new ProcessStartInfo(_program!)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                ArgumentList = { "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits" },
            };
            using var process = new Process { StartInfo = info };
            _startChild(process);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                var output = await process.StandardOutput.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                _usage = Parse(output);
            }
            finally
            {
                _childEnded(process.Id);
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException or OperationCanceledException)
        {
            // No answer this time: the last one stands; the next query is due after the interval.
        }
        finally
        {
            Interlocked.Exchange(ref _running, 0);
        }
    }

    /// <summary>Parses lines of <c>pid, MiB</c>; a pid on several GPUs adds up.</summary>
    internal static Dictionary<int, double> Parse(string output)
    {
        var usage = new Dictionary<int, double>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length >= 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var mb))
            {
                usage[pid] = usage.GetValueOrDefault(pid) + mb;
            }
        }

        return usage;
    }
}
