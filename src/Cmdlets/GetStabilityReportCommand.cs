using System.Management.Automation;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Reports how each service fared over a time window: uptime, restarts, failures, fatal episodes,
/// hangs, limit events, mean time between failures and the longest outage.</para>
/// <para type="description">Replays events.jsonl; nothing else is read or changed. A service is up from each start to
/// its exit, down from a failure (an exit with a non-zero code or a signal, a launch that failed) until its next
/// start, through backoff and a fatal state alike, and neither after a requested stop or a completion. Events before
/// -Since set the state a service enters the window in. One object per service with events, by name; -OutFile also
/// writes the report as Markdown (.md) or HTML (.html) for people.</para>
/// <example>
///   <code>Get-StabilityReport -Since (Get-Date).AddDays(-7)</code>
///   <para>How every service fared over the last week.</para>
/// </example>
/// <example>
///   <code>Get-StabilityReport training -Since (Get-Date).Date -OutFile ./today.md</code>
///   <para>Today's figures for the training service, also written as a Markdown table.</para>
/// </example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "StabilityReport")]
[OutputType(typeof(ServiceReport))]
public sealed class GetStabilityReportCommand : StabilityCmdlet
{
    /// <summary>Only these services; wildcards allowed. Default: every service with events.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>The window's start. Default: 24 hours before -Until.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>The window's end. Default: now.</summary>
    [Parameter]
    public DateTime? Until { get; set; }

    /// <summary>Also write the report to this file: Markdown for .md, HTML for .html or .htm.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutFile { get; set; }

    private readonly List<string> _names = [];

    /// <inheritdoc />
    protected override void ProcessRecord() => _names.AddRange(Name ?? []);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var until = Until is { } u ? Utc(u) : DateTimeOffset.UtcNow;
        var since = Since is { } s ? Utc(s) : until.AddDays(-1);
        if (until < since)
        {
            ThrowStabilityError(new ArgumentException($"-Until ({until:O}) is before -Since ({since:O}): give a window that ends after it starts."), Until);
            return;
        }

        var format = OutFile is null ? null : Path.GetExtension(OutFile).ToLowerInvariant() switch
        {
            ".md" or ".markdown" => "markdown",
            ".html" or ".htm" => "html",
            _ => "",
        };
        if (format == "")
        {
            ThrowStabilityError(new ArgumentException($"-OutFile '{OutFile}' has no known extension: use .md for Markdown or .html for HTML."), OutFile);
            return;
        }

        var manager = new ProcessManager(LocateStateDirectory());
        IReadOnlyList<ServiceReport> reports;
        try
        {
            var patterns = _names.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToList();
            reports = [.. ServiceReports.Build(manager.GetEvents(), since, until)
                .Where(r => patterns.Count == 0 || patterns.Any(p => p.IsMatch(r.Service)))];
        }
        catch (Engine.Errors.UnsafeFileException ex)
        {
            ThrowStabilityError(ex, manager.State.EventsLogPath);
            return;
        }

        foreach (var name in _names.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !reports.Any(r => string.Equals(r.Service, n, StringComparison.OrdinalIgnoreCase))))
        {
            WriteError(new ErrorRecord(new ItemNotFoundException($"The service '{name}' has no events up to {until:O}. Get-ProcessStatus lists the services."),
                "ServiceNotFound", ErrorCategory.ObjectNotFound, name));
        }

        if (OutFile is not null)
        {
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutFile);
            File.WriteAllText(path, format == "html" ? ServiceReports.ToHtml(reports, since, until) : ServiceReports.ToMarkdown(reports, since, until));
            WriteVerbose($"Wrote the report to '{path}'.");
        }

        foreach (var report in reports)
        {
            WriteObject(report);
        }
    }

    private static DateTimeOffset Utc(DateTime time) =>
        new DateTimeOffset(time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time).ToUniversalTime();
}
