// stability-supervisor --state-dir DIR --service NAME
// Supervises one service from services/NAME/spec.json (docs/ARCHITECTURE.md, "The processes"). Detaches from its caller
// (new session, standard streams on /dev/null) once set up; until then errors go to stderr for the launcher.
using System.Runtime.InteropServices;
using Serilog;
using Serilog.Formatting.Compact;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Supervisor;

// The sandbox a dashboard run as another user goes through on its way to exec (DashboardSandbox): no supervisor at all.
if (args is [DashboardSandbox.Option, ..])
{
    return DashboardSandbox.Run(args);
}

// Before anything else opens a file: drop descriptors inherited from the caller (see CloseInheritedDescriptors).
Native.CloseInheritedDescriptors();

// The state directory's scanner (issue #22): it watches the supervisors and replaces one that dies.
if (args is [SupervisionScanner.Option, ..])
{
    return await ScannerHost.RunAsync(args);
}

const int ExitUsage = 64;
const int ExitAlreadyRunning = 75;
const int ExitConfig = 78;

string? stateDir = null, service = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--state-dir": stateDir = args[i + 1]; break;
        case "--service": service = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"stability-supervisor: unknown option '{args[i]}'.");
            return ExitUsage;
    }
}

if (stateDir is null || service is null || !StateDirectory.IsValidServiceName(service))
{
    Console.Error.WriteLine("usage: stability-supervisor --state-dir DIR --service NAME (NAME: lower-case letters, digits, '.', '_', '-').");
    return ExitUsage;
}

if (OperatingSystem.IsLinux())
{
    // A new session: no signal or hangup of the caller's terminal or group reaches the supervisor. It fails only
    // when we already lead a group (started by hand from a shell job), which is harmless.
    Native.CreateSession();
    // Orphans of the service (double-forked daemons) are re-parented here rather than to init, so a stop finds them.
    Native.BecomeSubreaper();
    // Out of the groups of a service that started this supervisor (a sweep's controller): those are that service's.
    InheritedCgroups.Leave();
}

StateDirectory state;
try
{
    state = StateDirectory.Open(stateDir);
    state.EnsureServiceDirectory(service);
}
catch (StateDirectoryException ex)
{
    Console.Error.WriteLine(ex.Message);
    return ExitConfig;
}

FileLock? held = null;
try
{
    held = FileLock.Acquire(ProcessManager.SupervisorLockPath(state, service), TimeSpan.FromSeconds(2));
}
catch (LockTimeoutException)
{
    Console.Error.WriteLine($"Another supervisor already runs '{service}' in '{state.Root}': there are never two. Stop it first.");
    return ExitAlreadyRunning;
}

using var lockHeld = held;
var specPath = state.ServiceSpecPath(service);
ServiceSpec spec;
try
{
    var read = new StatusStore().Read<ServiceSpec>(specPath);
    // The spec says what runs as this supervisor's user: only that user (or root) may have written it.
    if (read.OwnerUid is { } owner && !SafeFile.IsTrustedOwner(owner))
    {
        Console.Error.WriteLine($"The spec of '{service}' cannot be used: '{specPath}' is owned by {SafeFile.UserName(owner)} (uid {owner}), not by you or root. Someone else can write the state directory; see docs/SECURITY.md.");
        return ExitConfig;
    }

    spec = read.GetDocumentOrThrow().Validate(specPath);
}
catch (StabilityException ex)
{
    Console.Error.WriteLine($"The spec of '{service}' cannot be used: {ex.Message}");
    return ExitConfig;
}

// A link planted at supervisor.log is refused by the log itself; the supervisor reports it as an event once it exists.
ServiceSupervisor? supervisorRef = null;
var earlyRefusals = new System.Collections.Concurrent.ConcurrentQueue<UnsafeFileException>();
await using var log = new LoggerConfiguration()
    .MinimumLevel.Information()
    .Enrich.WithProperty("Service", service)
    .Enrich.WithProperty("SupervisorPid", Environment.ProcessId)
    .WriteTo.Sink(new RotatingLogSink(new RotatingLog(Path.Combine(state.ServiceLogDirectory(service), "supervisor.log"), 5 * 1024 * 1024, 3,
        onRefused: refused => { if (supervisorRef is { } s) { s.Refused(refused); } else { earlyRefusals.Enqueue(refused); } }), new CompactJsonFormatter()))
    .CreateLogger();

TaskScheduler.UnobservedTaskException += (_, e) =>
{
    log.Error(e.Exception, "Unobserved task exception");
    e.SetObserved();
};

using var supervisor = new ServiceSupervisor(state, service, spec, log);
supervisorRef = supervisor;
while (earlyRefusals.TryDequeue(out var refused))
{
    supervisor.Refused(refused);
}

using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; supervisor.Post(new SupervisorMessage.Terminate("SIGTERM")); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; supervisor.Post(new SupervisorMessage.Terminate("SIGINT")); });
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => ctx.Cancel = true);
// In a Slurm job, the batch script execs this supervisor, and sbatch --signal=B:USR1@N warns it ahead of the time limit.
using var onUsr1 = Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } jobId && OperatingSystem.IsLinux()
    ? PosixSignalRegistration.Create((PosixSignal)Native.SIGUSR1, ctx => { ctx.Cancel = true; supervisor.Post(new SupervisorMessage.TimeLimitNear(jobId)); })
    : null;

log.Information("Supervisor {Pid} starts {Service} ({Kind}: {FilePath})", Environment.ProcessId, service, spec.Kind, spec.FilePath);
if (OperatingSystem.IsLinux())
{
    // Set up: from here on the supervisor holds no pipe or terminal of its caller, which may exit at any time.
    Native.DetachStandardStreams();
}

try
{
    var final = await supervisor.RunAsync();
    return final == StabilityTools.Engine.Models.ServiceState.Fatal ? 1 : 0;
}
catch (Exception ex)
{
    log.Fatal(ex, "The supervisor failed");
    throw;
}
