using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace StabilityTools.Supervisor;

/// <summary>
/// The supervisor's own log (<c>logs/supervisor.log</c>) written through a <see cref="RotatingLog"/>, so it is opened
/// like every product file (never through a link, only a file of ours, 0600) and rotated by size. Serilog's file sink
/// opens its file itself and follows links.
/// </summary>
internal sealed class RotatingLogSink(RotatingLog log, ITextFormatter formatter) : ILogEventSink, IDisposable
{
    public void Emit(LogEvent logEvent)
    {
        using var text = new StringWriter();
        formatter.Format(logEvent, text);
        // One write per event: the rotating log is locked per write, so events of two threads never interleave.
        log.Write(Encoding.UTF8.GetBytes(text.ToString()));
    }

    public void Dispose() => log.Dispose();
}
