// stability-sweep --state-dir DIR --sweep NAME: a sweep's controller, run as a service of kind `sweep` under its own
// supervisor (Start-TrainingSweep). It works from sweeps/NAME/plan.json and keeps sweeps/NAME/progress.json; killed at
// any moment, its supervisor starts it again and it takes up the trials where they are (src/Engine/Sweeps).
using System.Runtime.InteropServices;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Sweeps;

string? stateDir = null, sweep = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--state-dir": stateDir = args[i + 1]; break;
        case "--sweep": sweep = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"stability-sweep: unknown option '{args[i]}'. Usage: stability-sweep --state-dir DIR --sweep NAME");
            return ServiceSpec.ConfigurationErrorExitCode;
    }
}

if (stateDir is null || sweep is null)
{
    Console.Error.WriteLine("stability-sweep: usage: stability-sweep --state-dir DIR --sweep NAME");
    return ServiceSpec.ConfigurationErrorExitCode;
}

// What this process's supervisor set for it is not for the trials' supervisors, which inherit this environment: the
// controller sees no GPU, its trials see theirs; the service and run variables are each trial's own.
foreach (var variable in new[] { "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "STABILITY_SERVICE", "STABILITY_RUN_ID", "STABILITY_RUN_DIR", "STABILITY_RUN_DELEGATED" })
{
    Environment.SetEnvironmentVariable(variable, null);
}

using var stop = new CancellationTokenSource();
// SIGTERM (a stop, or a restart by the supervisor) ends the loop at once; the trials keep running, under their own supervisors.
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

try
{
    var state = StateDirectory.Open(stateDir);
    var manager = new ProcessManager(state);
    ResourceManager? resources = null;
    var controller = new SweepController(state, sweep, manager, () => resources ??= new ResourceManager(state, GpuProbe.Detect()),
        log: line => Console.WriteLine($"{DateTimeOffset.UtcNow:O} {line}"));
    var done = await controller.RunAsync(stop.Token);
    Console.WriteLine($"{DateTimeOffset.UtcNow:O} {(done ? "sweep complete" : "stopped; the trials keep running")}");
    return 0;
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine($"stability-sweep: {ex.Message}");
    return ServiceSpec.ConfigurationErrorExitCode;
}
catch (StateDirectoryException ex)
{
    Console.Error.WriteLine($"stability-sweep: {ex.Message}");
    return ServiceSpec.ConfigurationErrorExitCode;
}
