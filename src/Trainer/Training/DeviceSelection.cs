using TorchSharp;

namespace StabilityTools.Trainer.Training;

/// <summary>Picks the device and thread count for a run.</summary>
internal static class DeviceSelection
{
    private static int _interopThreadsSet;

    /// <summary>
    /// CUDA when <paramref name="requested"/> is <c>auto</c> or <c>cuda</c> and TorchSharp reports a usable CUDA
    /// device; otherwise CPU. <paramref name="fallbackReason"/> says why <c>cuda</c> was asked for but not used.
    /// </summary>
    public static torch.Device Select(string requested, out string? fallbackReason)
    {
        fallbackReason = null;
        if (requested != "cpu")
        {
            bool available;
            try
            {
                available = torch.cuda.is_available();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                available = false;
                fallbackReason = $"probing CUDA failed ({ex.Message})";
            }

            if (available)
            {
                return torch.CUDA;
            }

            if (requested == "cuda")
            {
                fallbackReason ??= "TorchSharp reports no CUDA device (this build's libtorch may be CPU-only: build with -p:TorchBackend=cuda)";
            }
        }

        return torch.CPU;
    }

    /// <summary>Sets torch's intra-op threads: <paramref name="configured"/>, or the cores this process may use when 0.</summary>
    /// <returns>The thread count in force.</returns>
    public static int ApplyThreads(int configured)
    {
        // Environment.ProcessorCount honours the CPU affinity and cgroup quota the supervisor gives us.
        var threads = configured > 0 ? configured : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        if (Interlocked.Exchange(ref _interopThreadsSet, 1) == 0)
        {
            try
            {
                // Our graphs are a chain of small ops; inter-op parallelism only adds threads that compete for the cores.
                torch.set_num_interop_threads(1);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // libtorch allows this once, before any parallel work; a second session in one process keeps the first value.
            }
        }

        return threads;
    }
}
