using System.Management.Automation;
using StabilityTools.Engine.Alerts;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Sends a test notice through an alert rule's real target.</para>
/// <para type="description">Posts a notice of status 'test' to the rule's webhook, or runs its command, within the rule's
/// timeout, and returns how it went (succeeded, HTTP status or exit code, error, time taken). The delivery is recorded as
/// an event (alert_test_sent or alert_test_failed). A failed delivery is also written as an error (AlertDeliveryFailed).</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "StabilityAlert")]
[OutputType(typeof(AlertDeliveryResult))]
public sealed class TestStabilityAlertCommand : StabilityCmdlet
{
    /// <summary>The rule's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var state = LocateStateDirectory();
        try
        {
            var book = new AlertBook(state);
            if (!state.Exists || book.Get(Name).Count == 0)
            {
                WriteError(AlertErrors.NotFound(Name, state));
                return;
            }

            WriteVerbose($"Sending a test notice of '{Name}' to {AlertSender.DescribeTarget(book.Get(Name)[0])}.");
            // The delivery is bounded by the rule's timeout (at most 60 s) and cancelled by Ctrl+C.
            var result = book.TestAsync(Name, cancellationToken: CancellationToken).GetAwaiter().GetResult();
            WriteObject(result);
            if (!result.Succeeded)
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"The test notice of alert rule '{Name}' was not delivered: {result.Error}"),
                    "AlertDeliveryFailed", ErrorCategory.ConnectionError, Name));
            }
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException or OperationCanceledException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
