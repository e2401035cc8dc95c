using System.Runtime.InteropServices;

namespace StabilityTools.Trainer.Training;

/// <summary>Process-wide settings that must be in place before libtorch is loaded.</summary>
internal static partial class TorchRuntime
{
    private static int _initialized;

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the native environment (unless the caller set it), before the first
    /// TorchSharp call loads libgomp. Why: with the default policy OpenMP threads spin while they wait, and when
    /// the cores are shared (other services, parallel builds) two spinning threads ran this trainer 20–40× slower
    /// than one thread (measured here: 1–2 k vs 40–60 k samples/s); with PASSIVE two threads match one.
    /// .NET's Environment.SetEnvironmentVariable does not reach native code on Unix, hence setenv.
    /// </summary>
    public static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref _initialized, 1) != 0 || OperatingSystem.IsWindows())
        {
            return;
        }

        _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", overwrite: 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
