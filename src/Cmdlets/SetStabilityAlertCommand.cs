using System.Management.Automation;
using StabilityTools.Engine.Alerts;
using StabilityTools.Engine.Models;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Adds or replaces an alert rule of the state directory.</para>
/// <para type="description">Writes the rule into alerts.json, a document no Start-* rewrites, so the rule holds for every
/// later start of the service. The supervisors read it when a trigger fires and send the notice to a webhook (generic
/// JSON, Slack or Teams) or a command, rate-limited, with a resolved notice when the condition clears.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "StabilityAlert", SupportsShouldProcess = true, DefaultParameterSetName = WebhookSet)]
[OutputType(typeof(AlertRule))]
public sealed class SetStabilityAlertCommand : StabilityCmdlet
{
    private const string WebhookSet = "Webhook";
    private const string CommandSet = "Command";

    /// <summary>The rule's name; a rule of the same name is replaced.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>What it fires on: Fatal, HangDetected, LimitExceeded, Restart, LossNotFinite, SupervisorReplaced, and the conditions of a run LossRising, ThroughputLow, NoProgress, DiskFull.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public AlertTrigger[] On { get; set; } = [];

    /// <summary>The service it applies to; default '*', every service of the state directory.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [Alias("Scope")]
    [ValidateNotNullOrEmpty]
    public string Service { get; set; } = AlertRule.AllServices;

    /// <summary>An http or https URL that gets each notice by POST.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WebhookSet)]
    [ValidateNotNullOrEmpty]
    public string WebhookUrl { get; set; } = "";

    /// <summary>The webhook's body: Json (default), Slack or Teams.</summary>
    [Parameter(ParameterSetName = WebhookSet)]
    public AlertFormat Format { get; set; } = AlertFormat.Json;

    /// <summary>A program and its arguments, run with the JSON notice on stdin and in STABILITY_ALERT.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CommandSet)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    /// <summary>With -On Restart: fire only while the service restarted more than this many times in the last hour. Default 0: every restart.</summary>
    [Parameter]
    [ValidateRange(0, 100_000)]
    public int RestartsPerHour { get; set; }

    /// <summary>With -On LossRising: how many epochs in a row the loss (val_loss where reported, else the training loss) must rise. Default 3.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int RisingEpochs { get; set; }

    /// <summary>With -On ThroughputLow: fire while samples_per_sec is below this fraction of the run's median. Default 0.5.</summary>
    [Parameter]
    [ValidateRange(0.001, 0.999)]
    public double ThroughputFraction { get; set; }

    /// <summary>With -On NoProgress: how long the trainer's progress may stand still before the notice, seconds. Default 600.</summary>
    [Parameter]
    [ValidateRange(1, 7 * 24 * 3600)]
    public double NoProgressSeconds { get; set; }

    /// <summary>With -On DiskFull: fire while the state directory's file system has less than this percentage free. Default 5.</summary>
    [Parameter]
    [ValidateRange(0.001, 100)]
    public double DiskFreePercent { get; set; }

    /// <summary>The least time between two notices of this rule for one service and trigger, seconds. Default 300; 0 sends every one.</summary>
    [Parameter]
    [ValidateRange(0, 7 * 24 * 3600)]
    public double MinIntervalSeconds { get; set; } = 300;

    /// <summary>How long one delivery may take, seconds. Default 10; 0.1-60.</summary>
    [Parameter]
    [ValidateRange(0.1, 60)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Send no resolved notice when the condition clears.</summary>
    [Parameter]
    public SwitchParameter NoResolved { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var rule = new AlertRule
        {
            Name = Name,
            Scope = Service,
            On = On.Distinct().ToList(),
            WebhookUrl = ParameterSetName == WebhookSet ? WebhookUrl : null,
            Format = ParameterSetName == WebhookSet ? Format : AlertFormat.Json,
            Command = ParameterSetName == CommandSet ? Command : null,
            RestartsPerHour = RestartsPerHour,
            // Given or not: a key left out is null in alerts.json (its default), and a key given without its trigger is refused by name.
            RisingEpochs = MyInvocation.BoundParameters.ContainsKey(nameof(RisingEpochs)) ? RisingEpochs : null,
            ThroughputFraction = MyInvocation.BoundParameters.ContainsKey(nameof(ThroughputFraction)) ? ThroughputFraction : null,
            NoProgressMs = MyInvocation.BoundParameters.ContainsKey(nameof(NoProgressSeconds)) ? (long)Math.Round(NoProgressSeconds * 1000) : null,
            DiskFreePercent = MyInvocation.BoundParameters.ContainsKey(nameof(DiskFreePercent)) ? DiskFreePercent : null,
            MinIntervalMs = (long)Math.Round(MinIntervalSeconds * 1000),
            TimeoutMs = (int)Math.Round(TimeoutSeconds * 1000),
            SendResolved = !NoResolved,
        };
        var target = $"alert rule '{Name}' for {(Service == AlertRule.AllServices ? "every service" : $"service '{Service}'")} on {string.Join(", ", rule.On)} to {AlertSender.DescribeTarget(rule)}";
        if (!ShouldProcess(target, "Set"))
        {
            return;
        }

        try
        {
            WriteObject(new AlertBook(OpenStateDirectory()).Set(rule));
        }
        catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException)
        {
            WriteStabilityError(ex, Name);
        }
    }
}
