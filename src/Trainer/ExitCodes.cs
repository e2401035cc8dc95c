namespace StabilityTools.Trainer;

/// <summary>The trainer's exit codes (a supervisor restarts on anything but <see cref="Completed"/>).</summary>
internal static class ExitCodes
{
    /// <summary>The run completed (also when it had completed before).</summary>
    public const int Completed = 0;

    /// <summary>Training failed unexpectedly; a restart resumes from the newest checkpoint.</summary>
    public const int Failed = 1;

    /// <summary>Bad command line (sysexits EX_USAGE).</summary>
    public const int Usage = 64;

    /// <summary>Bad configuration or market data: a restart cannot help until the input is fixed (sysexits EX_CONFIG).</summary>
    public const int InvalidInput = 78;

    /// <summary>Stopped gracefully on SIGINT / Ctrl+C (128 + 2), after a checkpoint.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped gracefully on SIGTERM (128 + 15), after a checkpoint.</summary>
    public const int Terminated = 143;
}
