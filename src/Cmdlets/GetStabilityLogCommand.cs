using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the captured output of a service, searches it, and follows it with -Wait.</para>
/// <para type="description">Reads services/NAME/logs/stdout.log (or -Stream Stderr, or the supervisor's own JSON
/// log). Without -Pattern, -Since or -Until it shows the last -Tail lines (50), across the newest rotated file when
/// needed. With any of them it searches every rotated file, oldest first, and writes each line that matches once: all
/// of them, or with -Tail N only the last N that match (as journalctl --grep -n does). With -Wait it then keeps writing
/// new lines (that match -Pattern) as they come, following rotations, until Ctrl+C.</para>
/// <para type="description">Captured output carries no time of its own, so -Since and -Until choose whole files by
/// when they were written (from the last write of the next older rotated file to their own last write) and, within
/// them, lines by a leading ISO-8601 timestamp where a line has one (the supervisor log always does; a line without
/// one takes the time of the timed line before it). Lines with no time at all in a chosen file are kept.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "StabilityLog", DefaultParameterSetName = ReadSet)]
[OutputType(typeof(string))]
public sealed class GetStabilityLogCommand : StabilityCmdlet
{
    private const string ReadSet = "Read";
    private const string FollowSet = "Follow";

    /// <summary>The service.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>How many of the last lines to show; with -Pattern, -Since or -Until, the last this many that match. Default 50, or every match when searching.</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int Tail { get; set; } = 50;

    /// <summary>Only lines that match this regular expression (case-insensitive unless -CaseSensitive).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    /// <summary>Match -Pattern with case.</summary>
    [Parameter]
    public SwitchParameter CaseSensitive { get; set; }

    /// <summary>Only lines written at or after this time.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Only lines written at or before this time; not with -Wait.</summary>
    [Parameter(ParameterSetName = ReadSet)]
    public DateTime? Until { get; set; }

    /// <summary>Which log: Stdout (default), Stderr or Supervisor.</summary>
    [Parameter]
    public ServiceLogStream Stream { get; set; } = ServiceLogStream.Stdout;

    /// <summary>Keep writing new lines until Ctrl+C.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FollowSet)]
    public SwitchParameter Wait { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var query = BuildQuery();
        var manager = new ProcessManager(LocateStateDirectory());
        try
        {
            if (!Wait)
            {
                foreach (var line in manager.SearchLog(Name, query, Stream))
                {
                    WriteObject(line);
                }

                return;
            }

            // Lines come from a background reader; only this (the pipeline) thread writes them.
            BackgroundPump.Run<string, bool>(
                async (lines, token) =>
                {
                    await foreach (var line in manager.FollowLogAsync(Name, query, Stream, token).ConfigureAwait(false))
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
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException ex)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                $"-Pattern '{Pattern}' took longer than {ServiceLogQuery.MatchTimeout.TotalSeconds:0} s on one line: simplify it (nested repetition such as '(a+)+' backtracks without end).", nameof(Pattern), ex),
                "PatternTooSlow", ErrorCategory.InvalidArgument, Pattern));
        }
        catch (StabilityException ex)
        {
            ThrowStabilityError(ex, Name);
        }
        catch (UnsafeFileException ex)
        {
            // A link or a foreign file at a log's name is refused, never read through.
            ThrowStabilityError(ex, Name);
        }
        catch (ArgumentException ex)
        {
            ThrowStabilityError(ex, Name);
        }
    }

    private ServiceLogQuery BuildQuery()
    {
        System.Text.RegularExpressions.Regex? pattern = null;
        if (Pattern is not null)
        {
            try
            {
                pattern = ServiceLogQuery.ParsePattern(Pattern, CaseSensitive, nameof(Pattern));
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "InvalidPattern", ErrorCategory.InvalidArgument, Pattern));
            }
        }

        var query = new ServiceLogQuery { Pattern = pattern, Since = Utc(Since), Until = Utc(Until) };
        // A search shows every match unless -Tail says how many; a plain read keeps its default of the last 50 lines.
        query = query with { Tail = MyInvocation.BoundParameters.ContainsKey(nameof(Tail)) || !query.Filters ? Tail : null };
        try
        {
            return query.Validate();
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, "InvalidTimeWindow", ErrorCategory.InvalidArgument, Until));
            throw;
        }
    }

    private static DateTimeOffset? Utc(DateTime? time) => time is { } t
        ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Local) : t).ToUniversalTime()
        : null;
}
