using System.Diagnostics;

namespace StabilityTools.Engine.Resources;

/// <summary>Probes GPUs by running <c>nvidia-smi</c> with CSV queries (the fallback when NVML cannot be loaded).</summary>
public sealed class NvidiaSmiProbe : IGpuProbe
{
    private readonly string _executable;
    private readonly TimeSpan _timeout;

    /// <summary>Creates a probe that runs <paramref name="executable"/>.</summary>
    /// <param name="executable">The full path of nvidia-smi.</param>
    /// <param name="timeout">How long one query may take (a wedged driver can hang nvidia-smi). Default 5 s.</param>
    public NvidiaSmiProbe(string executable, TimeSpan? timeout = null)
    {
        _executable = executable;
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
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
        var info = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {_executable}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{_executable} did not answer within {_timeout.TotalSeconds:0} s.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{_executable} exited with {process.ExitCode}: {stderr.Result.Trim()}{stdout.Result.Trim()}");
        }

        return stdout.Result;
    }
}
