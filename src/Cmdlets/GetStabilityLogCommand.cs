using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the captured output of a service, and follows it with -Wait.</para>
/// <para type="description">Reads services/NAME/logs/stdout.log (or -Stream Stderr, or the supervisor's own JSON
/// log), across the newest rotated file when needed. With -Wait it keeps writing new lines as they come, following
/// rotations, until Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "StabilityLog")]
[OutputType(typeof(string))]
public sealed class GetStabilityLogCommand : StabilityCmdlet
{
    /// <summary>The service.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>How many of the last lines to show. Default 50.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int Tail { get; set; } = 50;

    /// <summary>Which log: Stdout (default), Stderr or Supervisor.</summary>
    [Parameter]
    public ServiceLogStream Stream { get; set; } = ServiceLogStream.Stdout;

    /// <summary>Keep writing new lines until Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var manager = new ProcessManager(LocateStateDirectory());
        try
        {
            if (!Wait)
            {
                foreach (var line in manager.ReadLog(Name, Tail, Stream))
                {
                    WriteObject(line);
                }

                return;
            }

            // Lines come from a background reader; only this (the pipeline) thread writes them.
            BackgroundPump.Run<string, bool>(
                async (lines, token) =>
                {
                    await foreach (var line in manager.FollowLogAsync(Name, Tail, Stream, token).ConfigureAwait(false))
                    {
                        lines.Report(line);
                    }

                    return true;
                },
                WriteObject,
                null,
                CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C ends the follow; that is its normal end.
        }
        catch (StabilityException ex)
        {
            ThrowStabilityError(ex, Name);
        }
    }
}
