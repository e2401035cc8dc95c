using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Slurm;

namespace StabilityTools.Engine.Tests.Services;

/// <summary>
/// A Slurm that answers like Slurm 22.05 did on this machine (the scontrol lines below were captured from
/// tests/Slurm/single-node.sh's cluster), for the engine's logic without a cluster. Pester's Slurm.Tests.ps1 runs the real one.
/// </summary>
internal sealed class FakeSlurm : ICommandRunner
{
    public const string PendingHeld =
        "JobId=42 JobName=stability-training UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=0 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=JobHeldUser Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-29T06:13:10 EligibleTime=Unknown AccrueTime=Unknown StartTime=Unknown EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-29T06:13:10 Scheduler=Main Partition=debug AllocNode:Sid=localhost:18761 ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=1G,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryCPU=1G MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/state dir/slurm-job.sh WorkDir=/tmp StdErr=/tmp/slurm-42.out StdIn=/dev/null StdOut=/tmp/slurm-42.out Power= ";

    public const string Running =
        "JobId=42 JobName=stability-training UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:02 TimeLimit=365-00:00:00 TimeMin=N/A SubmitTime=2026-11-29T06:13:10 EligibleTime=2026-11-29T06:13:11 AccrueTime=Unknown StartTime=2026-11-29T06:13:11 EndTime=2027-11-29T06:13:11 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-29T06:13:11 Scheduler=Backfill Partition=debug AllocNode:Sid=localhost:18761 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=1G,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryCPU=1G MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/j.sh WorkDir=/tmp StdErr=/tmp/slurm-42.out StdIn=/dev/null StdOut=/tmp/slurm-42.out Power= ";

    public static string With(string line, string key, string value) =>
        System.Text.RegularExpressions.Regex.Replace(line, $@"(?<=(^| )){System.Text.RegularExpressions.Regex.Escape(key)}=\S*", $"{key}={value}");

    private readonly object _gate = new();

    /// <summary>What <c>scontrol show job</c> answers now; null: "Invalid job id specified".</summary>
    public string? JobLine { get; set; } = PendingHeld;

    /// <summary>What <c>sinfo -h -o %N|%P</c> answers.</summary>
    public string Nodes { get; set; } = "vm|debug*";

    /// <summary>The job id sbatch hands out; null: sbatch refuses.</summary>
    public string? NextJobId { get; set; } = "42";

    /// <summary>Run when scancel is called, with its arguments.</summary>
    public Action<IReadOnlyList<string>>? OnCancel { get; set; }

    public List<(string Tool, string[] Arguments)> Calls { get; } = [];

    public SlurmClient Client() => new(this, name => $"/usr/bin/{name}");

    /// <summary>Expands <c>gpu[01-03],cpu1</c> the way <c>scontrol show hostnames</c> does, for simple ranges.</summary>
    private static IEnumerable<string> ExpandHostList(string list)
    {
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(list, @"([^,\[]+)(?:\[(\d+)-(\d+)\])?"))
        {
            if (!m.Groups[2].Success)
            {
                yield return m.Groups[1].Value;
                continue;
            }

            var width = m.Groups[2].Value.Length;
            for (var i = int.Parse(m.Groups[2].Value); i <= int.Parse(m.Groups[3].Value); i++)
            {
                yield return m.Groups[1].Value + i.ToString().PadLeft(width, '0');
            }
        }
    }

    public CommandResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var tool = Path.GetFileName(program);
        lock (_gate)
        {
            Calls.Add((tool, arguments.ToArray()));
        }

        switch (tool)
        {
            case "sbatch":
                return NextJobId is { } id ? new CommandResult(0, id + "\n", "") : new CommandResult(1, "", "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n");
            case "scontrol" when arguments[0] == "show" && arguments[1] == "job":
                return JobLine is { } line ? new CommandResult(0, line + "\n", "") : new CommandResult(1, "", "slurm_load_jobs error: Invalid job id specified\n");
            case "scontrol" when arguments[0] == "show" && arguments[1] == "hostnames":
                return new CommandResult(0, string.Join('\n', ExpandHostList(arguments[2])) + "\n", "");
            case "sinfo":
                return new CommandResult(0, Nodes + "\n", "");
            case "scancel":
                OnCancel?.Invoke(arguments);
                return new CommandResult(0, "", "");
            default:
                return new CommandResult(127, "", $"{tool}: not faked");
        }
    }
}
