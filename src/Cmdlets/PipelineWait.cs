using System.Collections.Concurrent;
using System.Management.Automation;

namespace StabilityTools.Cmdlets;

/// <summary>
/// Runs an engine operation in the background and waits for it on the pipeline thread, turning its progress
/// messages into <c>Write-Progress</c> there (only the pipeline thread writes). Waits longer than a second show
/// a progress bar; the operation honours the cmdlet's Ctrl+C token.
/// </summary>
internal static class PipelineWait
{
    private static int s_activityId = 7300;

    public static T Run<T>(Cmdlet cmdlet, string activity, Func<IProgress<string>, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var messages = new BlockingCollection<string>();
        var progress = new QueueProgress(messages);
        var task = Task.Run(() => operation(progress, cancellationToken), cancellationToken);
        var id = Interlocked.Increment(ref s_activityId);
        var started = DateTime.UtcNow;
        var shown = false;
        var last = "Waiting.";
        while (!task.IsCompleted)
        {
            if (messages.TryTake(out var message, 100))
            {
                last = message;
                cmdlet.WriteVerbose(message);
            }

            if (DateTime.UtcNow - started > TimeSpan.FromSeconds(1))
            {
                shown = true;
                cmdlet.WriteProgress(new ProgressRecord(id, activity, last));
            }
        }

        while (messages.TryTake(out var rest))
        {
            cmdlet.WriteVerbose(rest);
        }

        if (shown)
        {
            cmdlet.WriteProgress(new ProgressRecord(id, activity, "Done.") { RecordType = ProgressRecordType.Completed });
        }

        return task.GetAwaiter().GetResult();
    }

    private sealed class QueueProgress(BlockingCollection<string> messages) : IProgress<string>
    {
        public void Report(string value) => messages.Add(value);
    }
}
