using System.Collections;
using System.Management.Automation;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Starts the training process (or any program that follows the status-file contract) under its own supervisor.</para>
/// <para type="description">Writes the service's spec into the state directory, launches a detached supervisor that
/// outlives this session, and waits until the service is running. Without -FilePath it runs the built-in trainer;
/// with it, any program. The supervisor restarts it by policy (default on-failure), restarts it when its training
/// progress stalls, and keeps its output in rotated logs. Fails when the service is already running.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TrainingProcess", SupportsShouldProcess = true)]
[OutputType(typeof(ServiceInfo))]
public sealed class StartTrainingProcessCommand : StartServiceCommandBase
{
    /// <summary>The service name. Default <c>training</c>.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = BuiltInServices.TrainingName;

    /// <summary>A configuration file for the built-in trainer (<c>--config</c>). Not with -FilePath.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Run this program instead of the built-in trainer: a path, or a name on PATH.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? FilePath { get; set; }

    /// <summary>Arguments for -FilePath, passed as they are.</summary>
    [Parameter]
    [AllowEmptyCollection]
    public string[] ArgumentList { get; set; } = [];

    /// <summary>When to restart: <c>always</c>, <c>on-failure</c> (default) or <c>never</c>.</summary>
    [Parameter]
    [ValidateSet("always", "on-failure", "never")]
    public string? RestartPolicy { get; set; }

    /// <summary>Extra environment variables for the service.</summary>
    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <summary>The service's working directory. Default: the state directory.</summary>
    [Parameter]
    public string? WorkingDirectory { get; set; }

    /// <summary>Run the service as this user (needs a session running as root).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunAsUser { get; set; }

    /// <summary>Restart the service when its training progress stalls this many seconds; 0 turns hang detection off. Default 120.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int? HangTimeoutSeconds { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            // Only located here: -WhatIf must not even create the state directory.
            var state = LocateStateDirectory();
            if (FilePath is not null && ConfigPath is not null)
            {
                throw new ConfigurationException(new ConfigurationProblem(null, null, "ConfigPath",
                    "-ConfigPath is for the built-in trainer; with -FilePath pass the program's own options in -ArgumentList.")) { Service = Name };
            }

            var spec = FilePath is null
                ? BuiltInServices.Trainer(state, Name, ConfigPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigPath))
                : ServiceSpec.ForKind(ServiceKind.Training, Name, ResolveProgram(FilePath), ArgumentList);
            spec = spec with
            {
                RestartPolicy = RestartPolicy is null ? spec.RestartPolicy : ParsePolicy(RestartPolicy),
                Environment = Environment is null ? spec.Environment : Environment.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? ""),
                WorkingDirectory = WorkingDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(WorkingDirectory),
                RunAsUser = RunAsUser,
                HangTimeoutMs = HangTimeoutSeconds is { } hang ? hang * 1000 : spec.HangTimeoutMs,
            };
            spec = WithRestartOptions(spec).Validate();
            if (!ShouldProcess($"service '{Name}' ({spec.FilePath} {string.Join(' ', spec.Arguments)}) in '{state.Root}'", "Start"))
            {
                return;
            }

            Start(spec);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is StabilityException or ArgumentException)
        {
            ThrowStabilityError(ex, Name);
        }
    }

    /// <summary>A path relative to the session's location becomes absolute; a bare name stays for a PATH lookup.</summary>
    internal string ResolveProgram(string program) =>
        program.Contains('/') || program.Contains('\\') ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(program) : program;

    internal static Engine.Services.RestartPolicy ParsePolicy(string policy) => policy.ToLowerInvariant() switch
    {
        "always" => Engine.Services.RestartPolicy.Always,
        "never" => Engine.Services.RestartPolicy.Never,
        _ => Engine.Services.RestartPolicy.OnFailure,
    };
}
