using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Resources;

/// <summary>Probes GPUs by running <c>nvidia-smi</c> with CSV queries (the fallback when NVML cannot be loaded).</summary>
public sealed class NvidiaSmiProbe : IGpuProbe
{
    private readonly string _executable;
    private readonly TimeSpan _timeout;
    private readonly ICommandRunner _runner;

    /// <summary>Creates a probe that runs <paramref name="executable"/>.</summary>
    /// <param name="executable">The full path of nvidia-smi.</param>
    /// <param name="timeout">How long one query may take (a wedged driver can hang nvidia-smi). Default 5 s.</param>
    /// <param name="runner">Runs it; default a child process.</param>
    public NvidiaSmiProbe(string executable, TimeSpan? timeout = null, ICommandRunner? runner = null)
    {
        _executable = executable;
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
        _runner = runner ?? ProcessCommandRunner.Instance;
    }

    /// <inheritdoc />
    public string Source => "nvidia-smi";

    /// <summary>The nvidia-smi on PATH, or null when there is none.</summary>
    public static string? FindOnPath()
    {
        var name = OperatingSystem.IsWindows() ? "nvidia-smi.exe" : "nvidia-smi";
        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }

    /// <inheritdoc />
    public GpuSnapshot Probe()
    {
        try
        {
            var devices = NvidiaSmiParser.ParseDevices(Run($"--query-gpu={NvidiaSmiParser.DeviceQuery}", "--format=csv,noheader,nounits"));
            var processes = devices.Count == 0
                ? []
                : NvidiaSmiParser.ParseProcesses(Run($"--query-compute-apps={NvidiaSmiParser.ProcessQuery}", "--format=csv,noheader,nounits"), devices);
            return new GpuSnapshot(Source, devices, processes);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            return new GpuSnapshot(Source, [], [], ex.Message);
        }
    }

    private string Run(params string[] arguments)
    {
        var result = _runner.Run(_executable, arguments, _timeout);
        if (result.TimedOut)
        {
            throw new TimeoutException($"{_executable} did not answer within {_timeout.TotalSeconds:0} s.");
        }

        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException($"{_executable} exited with {result.ExitCode}: {result.Stderr.Trim()}{result.Stdout.Trim()}");
    }
}
