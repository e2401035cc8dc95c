using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.Slurm;

/// <summary>
/// Talks to Slurm through its command-line tools (<c>sbatch</c>, <c>scontrol</c>, <c>scancel</c>, <c>sinfo</c>), which
/// every cluster has and which need no library or REST daemon. Every call is bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class SlurmClient
{
    private readonly ICommandRunner _runner;
    private readonly Func<string, string?> _resolve;

    /// <summary>Creates a client over <paramref name="runner"/> (default: real processes).</summary>
    /// <param name="runner">Runs the Slurm tools.</param>
    /// <param name="resolve">Finds a tool on PATH; default <see cref="ExecutableResolver.Resolve"/>.</param>
    public SlurmClient(ICommandRunner? runner = null, Func<string, string?>? resolve = null)
    {
        _runner = runner ?? ProcessCommandRunner.Instance;
        _resolve = resolve ?? (name => ExecutableResolver.Resolve(name));
    }

    /// <summary>The longest a Slurm tool may take before the call fails. Default 30 s (a busy controller is slow).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True when the Slurm client tools are on PATH.</summary>
    public bool IsInstalled => _resolve("sbatch") is not null && _resolve("scontrol") is not null;

    /// <summary>Submits <paramref name="script"/> with <paramref name="options"/>; returns the job id.</summary>
    /// <exception cref="SchedulerException">sbatch is missing or refused the job; the message holds what it said.</exception>
    public string Submit(IReadOnlyList<string> options, string script)
    {
        var result = Run("sbatch", ["--parsable", .. options, script]);
        if (!result.Succeeded)
        {
            throw new SchedulerException($"sbatch refused the job (exit {result.ExitCode}): {result.Said.TrimEnd('.')}. Check the partition, account and limits you asked for (sinfo, sacctmgr show assoc).");
        }

        // --parsable prints "jobid" or "jobid;cluster".
        var id = result.Stdout.Trim().Split(';', 2)[0];
        return id.Length > 0 && id.All(char.IsAsciiDigit)
            ? id
            : throw new SchedulerException($"sbatch answered '{result.Stdout.Trim()}', which holds no job id.");
    }

    /// <summary>The job as the controller knows it; null once the controller has forgotten it (after <c>MinJobAge</c>).</summary>
    /// <exception cref="SchedulerException">scontrol is missing or failed for another reason than an unknown job.</exception>
    public SlurmJob? Query(string jobId)
    {
        var result = Run("scontrol", ["show", "job", "-o", jobId]);
        if (!result.Succeeded)
        {
            return result.Said.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)
                ? null
                : throw new SchedulerException($"scontrol could not show job {jobId}: {result.Said}") { JobId = jobId };
        }

        // A job array or a heterogeneous job prints several lines; ours is a single job.
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(SlurmJob.Parse).FirstOrDefault(j => j is not null);
    }

    /// <summary>
    /// Cancels a job, or with <paramref name="signal"/> only signals it: <c>--full</c> sends it to the batch shell (the
    /// supervisor) and every step, as <c>scancel --signal</c> alone would skip the batch shell.
    /// </summary>
    /// <exception cref="SchedulerException">scancel failed.</exception>
    public void Cancel(string jobId, string? signal = null)
    {
        var result = Run("scancel", signal is null ? [jobId] : [$"--signal={signal}", "--full", jobId]);
        if (!result.Succeeded && !result.Said.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase)
            && !result.Said.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            throw new SchedulerException($"scancel {(signal is null ? "" : $"--signal={signal} ")}{jobId} failed: {result.Said}") { JobId = jobId };
        }
    }

    /// <summary>Requeues a job: it ends on its node and goes back to pending, keeping its id.</summary>
    /// <exception cref="SchedulerException">scontrol refused (the job is not requeueable, say).</exception>
    public void Requeue(string jobId)
    {
        var result = Run("scontrol", ["requeue", jobId]);
        if (!result.Succeeded)
        {
            throw new SchedulerException($"scontrol requeue {jobId} failed: {result.Said}") { JobId = jobId };
        }
    }

    /// <summary>The host names of the nodes in <paramref name="partition"/> (the default partition when null).</summary>
    /// <exception cref="SchedulerException">sinfo or scontrol failed.</exception>
    public IReadOnlyList<string> PartitionNodes(string? partition)
    {
        var sinfo = Run("sinfo", partition is null ? ["-h", "-o", "%N|%P"] : ["-h", "-o", "%N|%P", "-p", partition]);
        if (!sinfo.Succeeded)
        {
            throw new SchedulerException($"sinfo could not list the nodes{(partition is null ? "" : $" of partition '{partition}'")}: {sinfo.Said}");
        }

        // Without -p every partition is listed; the default one carries a '*' after its name.
        var lists = sinfo.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('|', 2))
            .Where(parts => parts.Length == 2 && (partition is not null || parts[1].EndsWith('*')))
            .Select(parts => parts[0])
            .Where(list => list.Length > 0)
            .ToList();
        if (lists.Count == 0)
        {
            return [];
        }

        var hosts = Run("scontrol", ["show", "hostnames", string.Join(',', lists)]);
        return hosts.Succeeded
            ? hosts.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList()
            : throw new SchedulerException($"scontrol could not expand the node list '{string.Join(',', lists)}': {hosts.Said}");
    }

    private CommandResult Run(string tool, IReadOnlyList<string> arguments)
    {
        var program = _resolve(tool)
            ?? throw new SchedulerException($"The Slurm tool '{tool}' is not on PATH. Install the Slurm client tools (Debian: slurm-client) on this host, or run locally (-Backend Local).");
        try
        {
            return _runner.Run(program, arguments, Timeout);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SchedulerException($"'{program}' could not be run: {ex.Message}", ex);
        }
    }
}
