using StabilityTools.Engine.Models;
using System.Runtime.InteropServices;
using System.Text;

namespace StabilityTools.Engine.Resources;

/// <summary>
/// Probes GPUs through NVML (<c>libnvidia-ml.so.1</c> / <c>nvml.dll</c>), loaded at run time so that a machine
/// without the NVIDIA driver simply has no NVML probe. Cheaper than nvidia-smi: no process per sample.
/// </summary>
public sealed unsafe class NvmlProbe : IGpuProbe, IDisposable
{
    private const int Success = 0;
    private const int InsufficientSize = 7;
    private const ulong ValueNotAvailable = ulong.MaxValue;

    private readonly IntPtr _library;
    private readonly delegate* unmanaged<int> _shutdown;
    private readonly delegate* unmanaged<uint*, int> _getCount;
    private readonly delegate* unmanaged<uint, IntPtr*, int> _getHandle;
    private readonly delegate* unmanaged<IntPtr, byte*, uint, int> _getName;
    private readonly delegate* unmanaged<IntPtr, byte*, uint, int> _getUuid;
    private readonly delegate* unmanaged<IntPtr, MemoryInfo*, int> _getMemory;
    private readonly delegate* unmanaged<IntPtr, Utilization*, int> _getUtilization;
    private readonly delegate* unmanaged<IntPtr, uint*, ProcessInfo*, int> _getProcesses;
    private readonly Lock _gate = new();
    private bool _disposed;

    private NvmlProbe(IntPtr library)
    {
        _library = library;
        _shutdown = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "nvmlShutdown");
        _getCount = (delegate* unmanaged<uint*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetCount_v2");
        _getHandle = (delegate* unmanaged<uint, IntPtr*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetHandleByIndex_v2");
        _getName = (delegate* unmanaged<IntPtr, byte*, uint, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetName");
        _getUuid = (delegate* unmanaged<IntPtr, byte*, uint, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetUUID");
        _getMemory = (delegate* unmanaged<IntPtr, MemoryInfo*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetMemoryInfo");
        _getUtilization = (delegate* unmanaged<IntPtr, Utilization*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetUtilizationRates");
        _getProcesses = (delegate* unmanaged<IntPtr, uint*, ProcessInfo*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetComputeRunningProcesses_v3");
    }

    /// <inheritdoc />
    public string Source => "nvml";

    /// <summary>Loads and initializes NVML; null when the library is absent or does not initialize (no driver, no device).</summary>
    /// <param name="libraryName">The library to load; default <c>libnvidia-ml.so.1</c> (Linux) or <c>nvml.dll</c> (Windows).</param>
    public static NvmlProbe? TryCreate(string? libraryName = null)
    {
        libraryName ??= OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
        if (!NativeLibrary.TryLoad(libraryName, out var library))
        {
            return null;
        }

        try
        {
            var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "nvmlInit_v2");
            if (init() != Success)
            {
                NativeLibrary.Free(library);
                return null;
            }

            return new NvmlProbe(library);
        }
        catch (EntryPointNotFoundException)
        {
            // A driver too old for the v2/v3 entry points: nvidia-smi will do.
            NativeLibrary.Free(library);
            return null;
        }
    }

    /// <inheritdoc />
    public GpuSnapshot Probe()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            uint count;
            var rc = _getCount(&count);
            if (rc != Success)
            {
                return new GpuSnapshot(Source, [], [], $"nvmlDeviceGetCount failed ({rc})");
            }

            var devices = new List<GpuDevice>();
            var processes = new List<GpuProcessUsage>();
            for (uint i = 0; i < count; i++)
            {
                IntPtr handle;
                if (_getHandle(i, &handle) != Success)
                {
                    continue;
                }

                var name = ReadString(handle, _getName);
                var uuid = ReadString(handle, _getUuid);
                MemoryInfo memory;
                var haveMemory = _getMemory(handle, &memory) == Success;
                Utilization utilization;
                var haveUtilization = _getUtilization(handle, &utilization) == Success;
                devices.Add(new GpuDevice(
                    (int)i,
                    Name: name,
                    Uuid: uuid,
                    MemoryTotalMb: haveMemory ? memory.Total / 1048576.0 : null,
                    MemoryUsedMb: haveMemory ? memory.Used / 1048576.0 : null,
                    UtilizationPercent: haveUtilization ? utilization.Gpu : null,
                    SampledAt: DateTimeOffset.UtcNow));
                processes.AddRange(ReadProcesses(handle, (int)i, uuid));
            }

            return new GpuSnapshot(Source, devices, processes);
        }
    }

    /// <summary>Shuts NVML down and unloads it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _shutdown();
            NativeLibrary.Free(_library);
        }
    }

    private List<GpuProcessUsage> ReadProcesses(IntPtr handle, int index, string uuid)
    {
        var result = new List<GpuProcessUsage>();
        uint capacity = 64;
        while (true)
        {
            var buffer = new ProcessInfo[capacity];
            var count = capacity;
            int rc;
            fixed (ProcessInfo* infos = buffer)
            {
                rc = _getProcesses(handle, &count, infos);
            }

            if (rc == InsufficientSize && capacity < 4096)
            {
                capacity = Math.Max(capacity * 2, count);
                continue;
            }

            if (rc != Success)
            {
                return result;
            }

            for (var i = 0; i < count; i++)
            {
                var used = buffer[i].UsedGpuMemory;
                result.Add(new GpuProcessUsage((int)buffer[i].Pid, index, uuid, used == ValueNotAvailable ? null : used / 1048576.0));
            }

            return result;
        }
    }

    private static string ReadString(IntPtr handle, delegate* unmanaged<IntPtr, byte*, uint, int> getter)
    {
        var buffer = stackalloc byte[96];
        if (getter(handle, buffer, 96) != Success)
        {
            return "";
        }

        var length = 0;
        while (length < 96 && buffer[length] != 0)
        {
            length++;
        }

        return Encoding.UTF8.GetString(buffer, length);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Utilization
    {
        public uint Gpu;
        public uint Memory;
    }

    // nvmlProcessInfo_t (v2/v3 layout): pid, usedGpuMemory, gpuInstanceId, computeInstanceId.
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfo
    {
        public uint Pid;
        public ulong UsedGpuMemory;
        public uint GpuInstanceId;
        public uint ComputeInstanceId;
    }
}
