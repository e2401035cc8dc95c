// stability-trainer --state-dir DIR [--config FILE]: the isolated TorchSharp training process (docs/ARCHITECTURE.md).
// It talks to the world only through the state directory; see TrainingSession for the resume rules.
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Reporting;
using StabilityTools.Trainer;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Training;

string? stateDir = null, configPath = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--state-dir" when i + 1 < args.Length:
            stateDir = args[++i];
            break;
        case "--config" when i + 1 < args.Length:
            configPath = args[++i];
            break;
        case "-h" or "--help":
            Console.WriteLine("usage: stability-trainer [--state-dir DIR] [--config FILE]");
            Console.WriteLine($"  DIR defaults to ${StateDirectory.HomeVariable}, else the per-user state directory.");
            Console.WriteLine($"  FILE is JSON; environment variables {TrainerConfigLoader.EnvironmentPrefix}SECTION__KEY override it.");
            return ExitCodes.Completed;
        default:
            Console.Error.WriteLine($"stability-trainer: unknown or incomplete argument '{args[i]}'. usage: stability-trainer [--state-dir DIR] [--config FILE]");
            return ExitCodes.Usage;
    }
}

using var stop = StopSignals.Install();

// The service this trainer runs as: its supervisor passes the name (Start-TrainingProcess -Name exp2), so events say exp2.
var events = TrainerEvents.FromEnvironment();

StateDirectory state;
try
{
    state = StateDirectory.Open(stateDir);
}
catch (StateDirectoryException ex)
{
    Console.Error.WriteLine($"stability-trainer: {ex.Message}");
    return ExitCodes.InvalidInput;
}

string? runId = null;
try
{
    var options = TrainerConfigLoader.Load(configPath);
    options = options with { RunId = runId = RunDirectory.ResolveRunId(options) };
    var outcome = TrainingSession.Run(options, state, stop.Token, events: events);
    Console.WriteLine(outcome.State == TrainerState.Completed
        ? $"stability-trainer: run {outcome.RunId} completed ({outcome.EpochsDone} epochs, {outcome.Step} steps); model: {outcome.ModelPath}"
        : $"stability-trainer: run {outcome.RunId} stopped at step {outcome.Step}; checkpoint: {outcome.ModelPath ?? "none"}");
    return outcome.State == TrainerState.Completed ? ExitCodes.Completed : stop.ExitCode;
}
catch (Exception ex) when (ex is ConfigurationException or MarketDataException)
{
    Console.Error.WriteLine($"stability-trainer: {ex.Message}");
    ReportInvalidInput(state, events, ex, runId);
    return ExitCodes.InvalidInput;
}
catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
{
    // Stopped while waiting for another trainer to release the run, or while paused on a full disk: nothing more can be
    // saved; the run resumes from its newest durable checkpoint.
    Console.WriteLine("stability-trainer: stopped while waiting (for the run's lock, or for disk space); the run resumes from its newest checkpoint.");
    return stop.ExitCode;
}
catch (Exception ex) when (ex is not OutOfMemoryException)
{
    Console.Error.WriteLine($"stability-trainer: training failed: {ex}");
    return ExitCodes.Failed;
}

// Bad input is reported where a supervisor and Wait-Training look: the run's status and record, and one event.
static void ReportInvalidInput(StateDirectory state, TrainerEvents events, Exception ex, string? runId)
{
    try
    {
        runId ??= Environment.GetEnvironmentVariable(RunDirectory.RunIdVariable) is { Length: > 0 } given && StateDirectory.IsValidRunId(given.Trim())
            ? given.Trim()
            : StateDirectory.NewRunId(DateTimeOffset.UtcNow);
        var shared = new SharedDataManager(state, run: state.EnsureRun(runId));
        shared.Store.Update<TrainingRun>(shared.Run!.RunInfoPath, run => (run ?? new TrainingRun { RunId = runId, Service = events.Service, Created = DateTimeOffset.UtcNow })
            with { State = RunStates.Failed, ErrorMessage = ex.Message, Ended = DateTimeOffset.UtcNow });
        shared.WriteTrainingStatus(new TrainingStatus
        {
            State = TrainerState.Failed,
            ErrorMessage = ex.Message,
            LastUpdate = DateTimeOffset.UtcNow,
            Heartbeat = DateTimeOffset.UtcNow,
            Pid = Environment.ProcessId,
            RunId = runId,
        });
        shared.Events.Append(events.Create("invalid_input", EventSeverity.Error, ex.Message));
    }
    catch (Exception writeError) when (writeError is StabilityException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"stability-trainer: could not record the failure in the state directory: {writeError.Message}");
    }
}
