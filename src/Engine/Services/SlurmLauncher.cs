using System.Text;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Runs a service's supervisor as a Slurm batch job. The job's script <c>exec</c>s the supervisor, so the supervisor
/// is the batch shell: Slurm's signals reach it directly (USR1 ahead of the time limit, TERM on cancel and requeue),
/// and its exit is the job's. Everything else (spec, status, control, logs, checkpoints) goes through the state
/// directory, which must therefore be on storage that the submit host and the nodes share.
/// </summary>
public sealed class SlurmLauncher : IServiceLauncher
{
    private readonly SlurmClient _slurm;
    private readonly string? _supervisorPath;
    private readonly Func<string, MountedFileSystem?> _fileSystemOf;

    /// <summary>Creates a launcher that submits through <paramref name="slurm"/>.</summary>
    /// <param name="slurm">The Slurm client.</param>
    /// <param name="supervisorPath">The supervisor (default: <see cref="HostLocator.Find"/>).</param>
    /// <param name="fileSystemOf">Finds the file system of a path (default: the mount table), for the shared-storage check.</param>
    public SlurmLauncher(SlurmClient slurm, string? supervisorPath = null, Func<string, MountedFileSystem?>? fileSystemOf = null)
    {
        _slurm = slurm ?? throw new ArgumentNullException(nameof(slurm));
        _supervisorPath = supervisorPath is null ? null : Path.GetFullPath(supervisorPath);
        _fileSystemOf = fileSystemOf ?? (path => MountTable.FileSystemOf(path));
    }

    /// <summary><c>services/&lt;name&gt;/slurm.json</c>.</summary>
    public static string RecordPath(StateDirectory state, string service) => Path.Combine(state.ServiceDirectory(service), "slurm.json");

    /// <summary><c>services/&lt;name&gt;/slurm-job.sh</c>.</summary>
    public static string ScriptPath(StateDirectory state, string service) => Path.Combine(state.ServiceDirectory(service), "slurm-job.sh");

    /// <summary><c>services/&lt;name&gt;/logs/slurm-&lt;job&gt;.out</c>: what the batch script itself printed (errors before the supervisor was up).</summary>
    public static string JobOutputPath(StateDirectory state, string service, string jobId) => Path.Combine(state.ServiceLogDirectory(service), $"slurm-{jobId}.out");

    /// <inheritdoc />
    /// <exception cref="SchedulerException">sbatch refused the job.</exception>
    /// <exception cref="ConfigurationException">The state directory (or the supervisor) is on storage the partition's nodes cannot see.</exception>
    public Task<SupervisorLaunch> LaunchAsync(StateDirectory state, string service, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var store = new StatusStore();
        var spec = store.Read<ServiceSpec>(state.ServiceSpecPath(service)).GetDocumentOrThrow();
        var options = spec.Slurm ?? throw new ArgumentException($"The spec of '{service}' has no Slurm options.", nameof(service));
        var supervisor = _supervisorPath ?? HostLocator.Find("supervisor");
        CheckSharedStorage(state, service, options, [state.Root, supervisor, spec.FilePath]);

        var (program, leading) = HostLocator.CommandFor(supervisor);
        var script = ScriptPath(state, service);
        WriteScript(script, service, [program, .. leading, "--state-dir", state.Root, "--service", service]);
        var arguments = SbatchArguments(state, service, options);
        var jobId = _slurm.Submit(arguments, script);
        var submitted = DateTimeOffset.UtcNow;
        // What Slurm says of the new job (pending, and why) goes into the record at once: the dashboard shows it from there.
        var job = QueryOrNull(jobId);
        store.Write(RecordPath(state, service), new SlurmJobRecord
        {
            JobId = jobId, SubmittedAt = submitted, SubmitHost = Environment.MachineName, Script = script, SbatchArguments = arguments,
            JobState = job?.State, Reason = job is { IsPending: true } ? job.Reason : null, Node = job is null ? null : job.BatchHost ?? job.NodeList,
            ObservedAt = job is null ? null : DateTimeOffset.UtcNow,
        }, cancellationToken);

        // The job's supervisor cannot be watched from here: its exit shows in the job's state instead.
        return Task.FromResult(new SupervisorLaunch(null, new TaskCompletionSource<int>().Task, () => "", () => { }) { JobId = jobId });
    }

    // The job was submitted: a controller too busy to describe it now must not make the start fail (status asks again).
    private SlurmJob? QueryOrNull(string jobId)
    {
        try
        {
            return _slurm.Query(jobId);
        }
        catch (SchedulerException)
        {
            return null;
        }
    }

    /// <summary>The sbatch options for a service's job (without <c>--parsable</c> and the script).</summary>
    public static IReadOnlyList<string> SbatchArguments(StateDirectory state, string service, SlurmJobOptions options)
    {
        var arguments = new List<string>
        {
            $"--job-name=stability-{service}",
            $"--output={Path.Combine(state.ServiceLogDirectory(service), "slurm-%j.out")}",
            $"--chdir={state.Root}",
            options.Requeue ? "--requeue" : "--no-requeue",
            // B: the batch shell only, which is the supervisor (the script execs it); it stops the service gracefully.
            $"--signal=B:USR1@{options.SignalBeforeLimitSeconds}",
            // One task: the supervisor; the trainer is its child, inside the job's allocation.
            "--ntasks=1",
        };
        if (options.Partition is { } partition)
        {
            arguments.Add($"--partition={partition}");
        }

        if (options.Gpus > 0)
        {
            arguments.Add($"--gres=gpu:{options.Gpus}");
        }

        if (options.CpusPerTask is { } cpus)
        {
            arguments.Add($"--cpus-per-task={cpus}");
        }

        if (options.MemoryMb is { } memory)
        {
            arguments.Add($"--mem={memory}M");
        }

        if (options.TimeLimit is { } limit)
        {
            arguments.Add($"--time={limit.Trim()}");
        }

        if (options.Account is { } account)
        {
            arguments.Add($"--account={account}");
        }

        arguments.AddRange(options.ExtraArguments);
        return arguments;
    }

    /// <summary>
    /// Refuses a submit whose files the nodes could not see: when the partition has a node other than this host and
    /// a path the job needs is on a node-local file system (ext4, xfs, tmpfs…).
    /// </summary>
    private void CheckSharedStorage(StateDirectory state, string service, SlurmJobOptions options, IEnumerable<string> paths)
    {
        var nodes = _slurm.PartitionNodes(options.Partition);
        var local = Environment.MachineName;
        var remote = nodes.Where(n => !IsThisHost(n, local)).ToList();
        if (remote.Count == 0)
        {
            return;
        }

        foreach (var path in paths.Where(p => Path.IsPathRooted(p)))
        {
            if (_fileSystemOf(path) is { IsShared: false } fs)
            {
                var shown = remote.Count > 5 ? string.Join(", ", remote.Take(5)) + $" and {remote.Count - 5} more" : string.Join(", ", remote);
                throw new ConfigurationException(new ConfigurationProblem(null, null, path == state.Root ? "state_directory" : "file_path",
                    $"'{path}' is on a node-local {fs.Type} file system (mounted at {fs.MountPoint}), but {(options.Partition is null ? "the default partition" : $"partition '{options.Partition}'")} " +
                    $"runs jobs on {shown}, which cannot see it. Put the state directory and the module on storage that this host and the nodes share " +
                    "(NFS, Lustre, GPFS, BeeGFS…), with -StateDirectory or STABILITY_HOME."))
                { Service = service, Path = path };
            }
        }
    }

    private static bool IsThisHost(string node, string local) =>
        string.Equals(node, local, StringComparison.OrdinalIgnoreCase)
        || string.Equals(node, local.Split('.')[0], StringComparison.OrdinalIgnoreCase)
        || node is "localhost";

    private static void WriteScript(string path, string service, IReadOnlyList<string> command)
    {
        var text = new StringBuilder()
            .Append("#!/bin/sh\n")
            .Append($"# Written by StabilityTools for the service '{service}'; submitted with sbatch, run by Slurm on a node.\n")
            .Append("# exec: the supervisor becomes the batch shell, so Slurm's signals (USR1 ahead of the time limit, TERM on\n")
            .Append("# cancel and requeue) reach it directly and its exit status is the job's.\n")
            .Append("exec ")
            .Append(string.Join(' ', command.Select(Quote)))
            .Append('\n')
            .ToString();
        var temporary = SafeFile.TemporaryName(path);
        using (var file = SafeFile.Open(temporary, SafeFileMode.CreateNew, FileAccess.Write))
        {
            file.Write(Encoding.UTF8.GetBytes(text));
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>POSIX shell quoting: single quotes, with each <c>'</c> written as <c>'\''</c>.</summary>
    internal static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
