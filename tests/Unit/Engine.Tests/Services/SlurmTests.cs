using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Slurm;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Services;

public sealed class SlurmJobTests
{
    [Fact(Timeout = 120_000)]
    public void A_held_job_parses_as_pending_with_its_reason_and_no_node()
    {
        var job = SlurmJob.Parse(FakeSlurm.PendingHeld)!;

        Assert.Equal("42", job.JobId);
        Assert.Equal("PENDING", job.State);
        Assert.Equal("JobHeldUser", job.Reason);
        Assert.True(job.IsPending);
        Assert.False(job.IsFinished);
        Assert.Null(job.NodeList);
        Assert.Null(job.StartTime);
        Assert.Equal(new DateTime(2026, 11, 29, 6, 13, 10), job.SubmitTime);
    }

    [Fact(Timeout = 120_000)]
    public void A_running_job_names_its_batch_host_and_start()
    {
        var job = SlurmJob.Parse(FakeSlurm.Running)!;

        Assert.True(job.IsActive);
        Assert.Null(job.Reason);
        Assert.Equal("vm", job.BatchHost);
        Assert.Equal(new DateTime(2026, 11, 29, 6, 13, 11), job.StartTime);
    }

    [Fact(Timeout = 120_000)]
    public void A_value_with_spaces_stays_whole_and_keys_with_colons_and_slashes_are_keys()
    {
        var fields = SlurmJob.ParseFields(FakeSlurm.PendingHeld);

        Assert.Equal("/tmp/state dir/slurm-job.sh", fields["Command"]);
        Assert.Equal("localhost:18761", fields["AllocNode:Sid"]);
        Assert.Equal("1", fields["CPUs/Task"]);
        Assert.Equal("cpu=1,mem=1G,node=1,billing=1", fields["TRES"]);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("CANCELLED", true)]
    [InlineData("COMPLETED", true)]
    [InlineData("FAILED", true)]
    [InlineData("TIMEOUT", true)]
    [InlineData("NODE_FAIL", true)]
    [InlineData("OUT_OF_MEMORY", true)]
    [InlineData("REQUEUED", false)]
    [InlineData("COMPLETING", false)]
    public void Ended_states_are_finished_and_requeued_or_completing_ones_are_not(string state, bool finished)
    {
        var job = SlurmJob.Parse(FakeSlurm.With(FakeSlurm.Running, "JobState", state))!;

        Assert.Equal(finished, job.IsFinished);
    }

    [Fact(Timeout = 120_000)]
    public void A_line_without_a_job_id_is_not_a_job()
    {
        Assert.Null(SlurmJob.Parse("slurm_load_jobs error: Invalid job id specified"));
    }
}

public sealed class SlurmJobOptionsTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("90", 5400L)]
    [InlineData("10:30", 630L)]
    [InlineData("04:00:00", 14400L)]
    [InlineData("2-12", 216000L)]
    [InlineData("1-00:30", 88200L)]
    [InlineData("1-00:00:05", 86405L)]
    [InlineData("UNLIMITED", null)]
    public void Slurm_time_limit_formats_are_read_as_Slurm_reads_them(string limit, long? seconds)
    {
        Assert.Equal(seconds, SlurmJobOptions.TimeLimitSeconds(limit));
        Assert.Empty(Problems(new SlurmJobOptions { TimeLimit = limit, SignalBeforeLimitSeconds = 0 }));
    }

    [Theory(Timeout = 120_000)]
    [InlineData("4h")]
    [InlineData("1:2:3:4")]
    [InlineData("-5")]
    public void A_time_limit_Slurm_would_not_read_is_refused_with_the_formats(string limit)
    {
        var problem = Assert.Single(Problems(new SlurmJobOptions { TimeLimit = limit }));

        Assert.Equal("slurm.time_limit", problem.Key);
        Assert.Contains("HH:MM:SS", problem.Message);
    }

    [Fact(Timeout = 120_000)]
    public void A_checkpoint_signal_before_the_job_could_work_is_refused()
    {
        var problem = Assert.Single(Problems(new SlurmJobOptions { TimeLimit = "2", SignalBeforeLimitSeconds = 120 }));

        Assert.Equal("slurm.signal_before_limit_seconds", problem.Key);
        Assert.Contains("120 s ahead of a 120 s time limit", problem.Message);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("--output=/tmp/x")]
    [InlineData("-o/tmp/x")]
    [InlineData("--signal=USR2@10")]
    [InlineData("--wrap=sleep 1")]
    [InlineData("--no-requeue")]
    public void Pass_through_options_may_not_set_what_the_launcher_sets(string option)
    {
        var problem = Assert.Single(Problems(new SlurmJobOptions { ExtraArguments = [option] }));

        Assert.Equal("slurm.extra_arguments", problem.Key);
        Assert.Contains("leave it out", problem.Message);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("gpu\n")]
    [InlineData("gpu\r\n")]
    [InlineData("gpu\n--wrap=id")]
    [InlineData("gpu,\ncpu")]
    public void A_partition_or_account_with_a_newline_is_refused_even_at_the_end(string name)
    {
        var problems = Problems(new SlurmJobOptions { Partition = name, Account = name });

        Assert.Equal("slurm.account slurm.partition", string.Join(" ", problems.Select(p => p.Key).Order()));
    }

    [Fact(Timeout = 120_000)]
    public void Partition_lists_and_account_names_of_letters_digits_and_punctuation_are_accepted()
    {
        Assert.Empty(Problems(new SlurmJobOptions { Partition = "gpu,a100-x.y_z", Account = "ml-team.1" }));
    }

    [Fact(Timeout = 120_000)]
    public void A_pass_through_word_that_is_not_an_option_is_refused()
    {
        var problem = Assert.Single(Problems(new SlurmJobOptions { ExtraArguments = ["high"] }));

        Assert.Contains("must start with '-'", problem.Message);
    }

    [Fact(Timeout = 120_000)]
    public void A_dashboard_may_not_run_as_a_Slurm_job()
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Dashboard, "dashboard", "/bin/sleep") with { Slurm = new SlurmJobOptions() };

        var ex = Assert.Throws<ConfigurationException>(() => spec.Validate());

        Assert.Contains(ex.Problems, p => p.Key == "slurm");
    }

    [Fact(Timeout = 120_000)]
    public void Every_option_maps_to_its_sbatch_flag()
    {
        using var temp = new TempDirectory();
        var state = StateDirectory.Open(temp.Path);
        var options = new SlurmJobOptions
        {
            Partition = "gpu", Gpus = 2, CpusPerTask = 8, MemoryMb = 32000, TimeLimit = "04:00:00", Account = "ml",
            SignalBeforeLimitSeconds = 300, ExtraArguments = ["--qos=high", "--hold"],
        };

        var arguments = SlurmLauncher.SbatchArguments(state, "training", options);

        Assert.Equal(
        [
            "--job-name=stability-training", $"--output={state.ServiceLogDirectory("training")}/slurm-%j.out", $"--chdir={state.Root}",
            "--requeue", "--signal=B:USR1@300", "--ntasks=1", "--partition=gpu", "--gres=gpu:2", "--cpus-per-task=8", "--mem=32000M",
            "--time=04:00:00", "--account=ml", "--qos=high", "--hold",
        ], arguments);
    }

    private static IReadOnlyList<ConfigurationProblem> Problems(SlurmJobOptions options)
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Training, "training", "/bin/sleep") with { Slurm = options };
        try
        {
            spec.Validate();
            return [];
        }
        catch (ConfigurationException ex)
        {
            return ex.Problems;
        }
    }
}

public sealed class MountTableTests
{
    [Fact(Timeout = 120_000)]
    public void The_longest_mount_point_holding_a_path_gives_its_file_system_and_escapes_are_read()
    {
        using var temp = new TempDirectory();
        var mountinfo = temp.File("mountinfo");
        File.WriteAllLines(mountinfo,
        [
            "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
            "40 22 0:35 / /shared rw,relatime shared:20 - nfs4 fs:/export rw,vers=4.2",
            "41 40 0:36 / /shared/scratch\\040space rw - tmpfs tmpfs rw",
            "42 22 0:37 / /sharedness rw - xfs /dev/sdb rw",
        ]);

        Assert.Equal(new MountedFileSystem("/shared", "nfs4"), MountTable.FileSystemOf("/shared/state", mountinfo));
        Assert.Equal("tmpfs", MountTable.FileSystemOf("/shared/scratch space/x", mountinfo)!.Type);
        Assert.Equal("xfs", MountTable.FileSystemOf("/sharedness/a", mountinfo)!.Type);
        Assert.Equal("ext4", MountTable.FileSystemOf("/home/u", mountinfo)!.Type);
        Assert.True(MountTable.FileSystemOf("/shared/state", mountinfo)!.IsShared);
        Assert.False(MountTable.FileSystemOf("/home/u", mountinfo)!.IsShared);
    }

    [Fact(Timeout = 120_000)]
    public void This_machine_s_own_mount_table_names_a_file_system_for_the_temp_folder()
    {
        Assert.False(string.IsNullOrEmpty(MountTable.FileSystemOf(Path.GetTempPath())?.Type));
    }
}

public sealed class SlurmProcessManagerTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly StateDirectory _state;
    private readonly FakeSlurm _slurm = new();
    private readonly ProcessManager _manager;
    private readonly StatusStore _store = new();

    public SlurmProcessManagerTests()
    {
        _state = StateDirectory.Open(_temp.Path);
        _manager = Manager(new MountedFileSystem("/", "ext4"));
    }

    /// <summary>A manager whose Slurm is the fake and whose every path lies on <paramref name="fileSystem"/>.</summary>
    private ProcessManager Manager(MountedFileSystem fileSystem)
    {
        var client = _slurm.Client();
        return new ProcessManager(_state, options: new ProcessManagerOptions
        {
            Slurm = client,
            SlurmLauncher = new SlurmLauncher(client, supervisorPath: "/bin/true", fileSystemOf: _ => fileSystem),
        });
    }

    public void Dispose() => _temp.Dispose();

    private static ServiceSpec Spec(SlurmJobOptions? options = null) =>
        ServiceSpec.ForKind(ServiceKind.Training, "training", "/bin/sleep", ["600"]) with { Slurm = options ?? new SlurmJobOptions { Partition = "debug", Gpus = 1 } };

    [Fact(Timeout = 120_000)]
    public async Task A_start_submits_a_script_that_execs_the_supervisor_records_the_job_and_returns_pending()
    {
        var info = await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ServiceState.Pending, info.State);
        Assert.Equal("slurm", info.Backend);
        Assert.Equal("42", info.JobId);
        Assert.Equal("JobHeldUser", info.JobReason);
        Assert.Contains("JobHeldUser", info.ErrorMessage);
        var sbatch = Assert.Single(_slurm.Calls, c => c.Tool == "sbatch");
        Assert.Contains("--gres=gpu:1", sbatch.Arguments);
        Assert.Equal(SlurmLauncher.ScriptPath(_state, "training"), sbatch.Arguments[^1]);
        var script = File.ReadAllText(SlurmLauncher.ScriptPath(_state, "training"));
        Assert.Contains($"exec '/bin/true' '--state-dir' '{_state.Root}' '--service' 'training'", script);
        var record = _store.Read<SlurmJobRecord>(SlurmLauncher.RecordPath(_state, "training")).Document!;
        Assert.Equal("42", record.JobId);
        Assert.Equal(Environment.MachineName, record.SubmitHost);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_refused_submit_says_what_sbatch_said_and_records_no_job()
    {
        _slurm.NextJobId = null;

        var ex = await Assert.ThrowsAsync<SchedulerException>(() => _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("Invalid partition name specified", ex.Message);
        Assert.False(File.Exists(SlurmLauncher.RecordPath(_state, "training")));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_second_start_while_the_job_is_queued_is_refused_naming_the_job()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<ServiceAlreadyRunningException>(() => _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("42", ex.JobId);
        Assert.Single(_slurm.Calls, c => c.Tool == "sbatch");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_node_local_state_directory_is_refused_when_the_partition_has_other_nodes()
    {
        _slurm.Nodes = "gpu[01-03]|debug*";
        var manager = Manager(new MountedFileSystem("/", "ext4"));

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("node-local ext4", ex.Message);
        Assert.Contains("gpu01, gpu02, gpu03", ex.Message);
        Assert.DoesNotContain(_slurm.Calls, c => c.Tool == "sbatch");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_shared_state_directory_is_accepted_for_a_partition_of_other_nodes()
    {
        _slurm.Nodes = "gpu[01-03]|debug*";
        var manager = Manager(new MountedFileSystem("/shared", "nfs4"));

        var info = await manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("42", info.JobId);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_on_its_node_whose_supervisor_has_not_written_yet_is_starting_not_the_old_run()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        // The status of the run before a requeue: written before the job (re)started.
        WriteStatus(ServiceState.Stopped, writtenAt: new DateTimeOffset(new DateTime(2026, 11, 29, 6, 13, 5)));
        _slurm.JobLine = FakeSlurm.Running;

        var info = _manager.GetStatus("training");

        Assert.Equal(ServiceState.Starting, info.State);
        Assert.Equal("vm", info.Node);
        Assert.Equal("RUNNING", info.JobState);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_cancelled_job_whose_supervisor_recorded_no_end_is_stopped_and_a_failed_one_is_fatal_with_its_output()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        File.WriteAllText(SlurmLauncher.JobOutputPath(_state, "training", "42"), "slurmstepd: error: execve(): /x/stability-supervisor: No such file or directory\n");

        _slurm.JobLine = FakeSlurm.With(FakeSlurm.Running, "JobState", "CANCELLED");
        Assert.Equal(ServiceState.Stopped, _manager.GetStatus("training").State);

        _slurm.JobLine = FakeSlurm.With(FakeSlurm.With(FakeSlurm.Running, "JobState", "FAILED"), "ExitCode", "2:0");
        var failed = _manager.GetStatus("training");
        Assert.Equal(ServiceState.Fatal, failed.State);
        Assert.Contains("Slurm job 42 ended FAILED (exit 2:0) on vm", failed.ErrorMessage);
        Assert.Contains("No such file or directory", failed.ErrorMessage);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_job_Slurm_has_forgotten_shows_what_its_supervisor_wrote()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        WriteStatus(ServiceState.Completed, DateTimeOffset.UtcNow);
        _slurm.JobLine = null;

        var info = _manager.GetStatus("training");

        Assert.Equal(ServiceState.Completed, info.State);
        Assert.Equal("42", info.JobId);
        Assert.Null(info.JobState);
    }

    [Fact(Timeout = 120_000)]
    public async Task Stopping_a_queued_job_cancels_it_and_audits_the_cancel()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        _slurm.OnCancel = _ => _slurm.JobLine = FakeSlurm.With(FakeSlurm.PendingHeld, "JobState", "CANCELLED");

        var info = await _manager.StopAsync("training", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ServiceState.Stopped, info.State);
        var cancel = Assert.Single(_slurm.Calls, c => c.Tool == "scancel");
        Assert.Equal(["42"], cancel.Arguments);
        Assert.Contains(_manager.GetEvents("training"), e => e.Type == "slurm_cancel" && e.User == Environment.UserName);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_running_job_without_a_live_supervisor_gets_TERM_first_then_a_cancel()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        _slurm.JobLine = FakeSlurm.Running;
        _slurm.OnCancel = arguments =>
        {
            // It ignores TERM (the graceful period runs out), and ends on the plain cancel.
            if (arguments.Count == 1)
            {
                _slurm.JobLine = FakeSlurm.With(FakeSlurm.Running, "JobState", "CANCELLED");
            }
        };

        await _manager.StopAsync("training", timeout: TimeSpan.FromMilliseconds(300), cancellationToken: TestContext.Current.CancellationToken);

        var cancels = _slurm.Calls.Where(c => c.Tool == "scancel").Select(c => string.Join(' ', c.Arguments)).ToList();
        Assert.Equal(["--signal=TERM --full 42", "42"], cancels);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_submit_records_the_queued_job_and_why_it_waits_in_its_record()
    {
        var before = DateTimeOffset.UtcNow;

        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);

        var record = _store.Read<SlurmJobRecord>(SlurmLauncher.RecordPath(_state, "training")).Document!;
        Assert.Equal("PENDING", record.JobState);
        Assert.Equal("JobHeldUser", record.Reason);
        Assert.Null(record.Node);
        Assert.InRange(record.ObservedAt!.Value, before, DateTimeOffset.UtcNow);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_submit_the_controller_cannot_describe_yet_still_starts_and_records_no_state()
    {
        _slurm.JobLine = null;

        var info = await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("42", info.JobId);
        var record = _store.Read<SlurmJobRecord>(SlurmLauncher.RecordPath(_state, "training")).Document!;
        Assert.Equal("42", record.JobId);
        Assert.Null(record.JobState);
        Assert.Null(record.ObservedAt);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_status_query_records_what_Slurm_says_now_a_new_reason_then_the_node_it_runs_on()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        var path = SlurmLauncher.RecordPath(_state, "training");

        _slurm.JobLine = FakeSlurm.With(FakeSlurm.PendingHeld, "Reason", "Resources");
        Assert.Equal("Resources", _manager.GetStatus("training").JobReason);
        var waiting = _store.Read<SlurmJobRecord>(path).Document!;
        Assert.Equal(("PENDING", "Resources"), (waiting.JobState, waiting.Reason));

        _slurm.JobLine = FakeSlurm.Running;
        _manager.GetStatus("training");
        var running = _store.Read<SlurmJobRecord>(path).Document!;
        Assert.Equal(("RUNNING", null, "vm"), (running.JobState, running.Reason, running.Node));
        // What the submit recorded stays.
        Assert.Equal(waiting.SubmittedAt, running.SubmittedAt);
        Assert.Equal(waiting.SbatchArguments, running.SbatchArguments);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_unchanged_answer_is_not_written_again_until_the_refresh_interval_passed()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        var path = SlurmLauncher.RecordPath(_state, "training");
        var recorded = _store.Read<SlurmJobRecord>(path).Document!;
        var job = SlurmJob.Parse(FakeSlurm.PendingHeld)!;

        _manager.GetStatus("training");
        var soon = SlurmObservation.Record(_store, path, job, recorded.ObservedAt!.Value + SlurmObservation.RefreshAfter - TimeSpan.FromSeconds(1));
        var later = SlurmObservation.Record(_store, path, job, recorded.ObservedAt!.Value + SlurmObservation.RefreshAfter);

        Assert.Null(soon);
        Assert.Equal(recorded.Seq + 1, later!.Seq);
        Assert.Equal(recorded.ObservedAt!.Value + SlurmObservation.RefreshAfter, _store.Read<SlurmJobRecord>(path).Document!.ObservedAt);
    }

    [Fact(Timeout = 120_000)]
    public async Task What_Slurm_says_of_another_job_is_not_recorded_over_a_newer_submit()
    {
        await _manager.StartAsync(Spec(), cancellationToken: TestContext.Current.CancellationToken);
        var path = SlurmLauncher.RecordPath(_state, "training");
        var before = File.ReadAllBytes(path);

        var written = SlurmObservation.Record(_store, path, SlurmJob.Parse(FakeSlurm.With(FakeSlurm.Running, "JobId", "41"))!, DateTimeOffset.UtcNow.AddMinutes(5));

        Assert.Null(written);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    private void WriteStatus(ServiceState state, DateTimeOffset writtenAt)
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(writtenAt);
        new StatusStore(new StatusStoreOptions { TimeProvider = clock }).Write(_state.ServiceStatusPath("training"),
            new ProcessStatus { Name = "training", Kind = "training", Status = state, SupervisorPid = 1, Host = Environment.MachineName });
    }
}
