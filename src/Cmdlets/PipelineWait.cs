using System.Management.Automation;

namespace StabilityTools.Cmdlets;

/// <summary>
/// Runs an engine operation through <see cref="BackgroundPump"/>, turning its progress messages into verbose output
/// and, for waits longer than a second, a progress bar. The operation honours the cmdlet's Ctrl+C token.
/// </summary>
internal static class PipelineWait
{
    private static int s_activityId = 7300;

    public static T Run<T>(Cmdlet cmdlet, string activity, Func<IProgress<string>, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref s_activityId);
        var started = DateTime.UtcNow;
        var shown = false;
        var last = "Waiting.";
        try
        {
            return BackgroundPump.Run(
                operation,
                message =>
                {
                    last = message;
                    cmdlet.WriteVerbose(message);
                },
                () =>
                {
                    if (DateTime.UtcNow - started > TimeSpan.FromSeconds(1))
                    {
                        shown = true;
                        cmdlet.WriteProgress(new ProgressRecord(id, activity, last));
                    }
                },
                cancellationToken);
        }
        finally
        {
            if (shown)
            {
                cmdlet.WriteProgress(new ProgressRecord(id, activity, "Done.") { RecordType = ProgressRecordType.Completed });
            }
        }
    }
}
