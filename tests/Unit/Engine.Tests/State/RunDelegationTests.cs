using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

/// <summary>A run handed to the user a service runs as (-RunAsUser, issue #13): what root and that user may then do with it.</summary>
public sealed class RunDelegationTests : IDisposable
{
    // nobody: an account on every Debian machine that owns nothing of ours.
    private const int Nobody = 65534;
    private readonly TempDirectory _dir = new("st-deleg");
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false, LockTimeout = TimeSpan.FromSeconds(2) });

    public RunDelegationTests() => File.SetUnixFileMode(_dir.Path, FilePermissions.OwnerOnlyDirectory);

    public void Dispose() => _dir.Dispose();

    private static void SkipUnlessRoot()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Owners and descriptors are Linux's here.");
        Assert.SkipUnless(UserAccount.IsRoot, "Handing a folder to another user (chown) takes root.");
    }

    private static UserAccount NobodyAccount() =>
        UserAccount.Find(Nobody.ToString(System.Globalization.CultureInfo.InvariantCulture)) ?? new UserAccount("nobody", Nobody, Nobody, "/nonexistent");

    [Fact(Timeout = 120_000)]
    public void A_new_run_folder_is_given_to_the_user_with_everything_root_wrote_in_it()
    {
        SkipUnlessRoot();
        var state = StateDirectory.Open(_dir.File("state"));
        var run = state.EnsureRun("run-a");
        _store.Write(run.RunInfoPath, new TrainingRun { RunId = "run-a", Service = "training" });
        Directory.CreateDirectory(Path.Combine(run.Directory, "checkpoints"));

        RunDelegation.HandOver(state, "run-a", NobodyAccount());

        Assert.True(FileStatus.TryLstat(run.Directory, out var folder));
        Assert.Equal(Nobody, folder.Uid);
        Assert.Equal("0700", folder.ModeOctal);
        Assert.True(FileStatus.TryLstat(run.RunInfoPath, out var record));
        Assert.Equal(Nobody, record.Uid);
        Assert.True(FileStatus.TryLstat(Path.Combine(run.Directory, "checkpoints"), out var checkpoints));
        Assert.Equal(Nobody, checkpoints.Uid);
        // Nothing above the run changes hands.
        Assert.True(FileStatus.TryLstat(state.RunsDirectory, out var runs));
        Assert.Equal(0, runs.Uid);
        Assert.True(FileStatus.TryLstat(state.Root, out var root));
        Assert.Equal(0, root.Uid);
    }

    [Fact(Timeout = 120_000)]
    public void A_run_folder_of_a_third_user_is_not_taken_from_them()
    {
        SkipUnlessRoot();
        var state = StateDirectory.Open(_dir.File("state"));
        var run = state.EnsureRun("run-b");
        FilePermissions.ChangeOwner(run.Directory, 4242, 4242);

        var error = Assert.Throws<StateDirectoryException>(() => RunDelegation.HandOver(state, "run-b", NobodyAccount()));

        Assert.Contains("belongs to", error.Message);
        Assert.Contains("start a new run", error.Message);
        Assert.True(FileStatus.TryLstat(run.Directory, out var folder));
        Assert.Equal(4242, folder.Uid);
    }

    [Fact(Timeout = 120_000)]
    public void What_the_user_wrote_in_their_run_folder_is_read_and_what_root_writes_there_becomes_theirs()
    {
        SkipUnlessRoot();
        var state = StateDirectory.Open(_dir.File("state"));
        var run = RunDelegation.HandOver(state, "run-c", NobodyAccount());
        File.WriteAllText(run.TrainingStatusPath, """{"schema":"training_status/1","seq":1,"status":"running","current_epoch":2}""");
        TestFiles.Chown(run.TrainingStatusPath, Nobody);

        var read = _store.Read<TrainingStatus>(run.TrainingStatusPath);
        _store.Write(run.RunInfoPath, new TrainingRun { RunId = "run-c", Service = "training", State = RunStates.Completed });

        Assert.Equal(2, read.Document!.CurrentEpoch);
        Assert.True(FileStatus.TryLstat(run.RunInfoPath, out var record));
        Assert.Equal(Nobody, record.Uid);
        Assert.Equal("0600", record.ModeOctal);
        Assert.Equal(RunStates.Completed, _store.Read<TrainingRun>(run.RunInfoPath).Document!.State);
    }

    [Fact(Timeout = 120_000)]
    public void A_file_of_another_user_outside_a_folder_handed_to_them_is_still_refused()
    {
        SkipUnlessRoot();
        // Their own folder, but in a folder others may enter (as /home/<user> is in /home): not one root handed over.
        var open = _dir.File("open");
        Directory.CreateDirectory(open);
        File.SetUnixFileMode(open, FilePermissions.OwnerOnlyDirectory | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var theirs = Path.Combine(open, "theirs");
        Directory.CreateDirectory(theirs);
        FilePermissions.ChangeOwner(theirs, Nobody, Nobody);
        var path = Path.Combine(theirs, "status.json");
        File.WriteAllText(path, "{}");
        TestFiles.Chown(path, Nobody);

        var error = Assert.Throws<UnsafeFileException>(() => SafeFile.Open(path, SafeFileMode.Open, FileAccess.Read).Dispose());

        Assert.Equal(Nobody, error.OwnerUid);
        Assert.False(SafeFile.IsInFolderHandedTo(path, Nobody));
    }

    [Fact(Timeout = 120_000)]
    public void A_link_the_user_plants_in_their_run_folder_is_never_written_through_by_root()
    {
        SkipUnlessRoot();
        var state = StateDirectory.Open(_dir.File("state"));
        var run = RunDelegation.HandOver(state, "run-d", NobodyAccount());
        var victim = _dir.File("victim");
        File.WriteAllText(victim, "root only");
        File.CreateSymbolicLink(run.RunInfoPath + ".lock", victim);

        Assert.ThrowsAny<Exception>(() => _store.Write(run.RunInfoPath, new TrainingRun { RunId = "run-d", Service = "training" }));

        Assert.Equal("root only", File.ReadAllText(victim));
        Assert.True(FileStatus.TryLstat(victim, out var status));
        Assert.Equal(0, status.Uid);
    }

    [Fact(Timeout = 120_000)]
    public void A_process_given_one_run_knows_that_run_only_and_logs_its_events_there()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Owners are Linux's here.");
        var runDirectory = _dir.File("given");
        Directory.CreateDirectory(runDirectory, FilePermissions.OwnerOnlyDirectory);
        var environment = new Dictionary<string, string>
        {
            [RunDelegation.DelegatedVariable] = "1",
            [RunDelegation.RunIdVariable] = "run-e",
            [RunDelegation.RunDirectoryVariable] = runDirectory,
            [StateDirectory.HomeVariable] = _dir.File("unreachable-root"),
        };

        var state = StateDirectory.Open(getEnvironment: name => environment.GetValueOrDefault(name));

        Assert.Equal(runDirectory, state.EnsureRun("run-e").Directory);
        Assert.Equal(Path.Combine(runDirectory, "events.jsonl"), state.EventsLogPath);
        Assert.Equal(["run-e"], state.ListRunIds());
        Assert.Throws<StateDirectoryException>(() => state.Run("run-other"));
        // The state directory itself was never created: the process could not have reached it.
        Assert.False(Directory.Exists(_dir.File("unreachable-root")));
    }

    [Fact(Timeout = 120_000)]
    public void A_given_run_folder_that_others_can_write_is_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Modes are Unix's.");
        var runDirectory = _dir.File("wide");
        Directory.CreateDirectory(runDirectory);
        File.SetUnixFileMode(runDirectory, FilePermissions.OwnerOnlyDirectory | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        var environment = new Dictionary<string, string>
        {
            [RunDelegation.DelegatedVariable] = "1",
            [RunDelegation.RunIdVariable] = "run-f",
            [RunDelegation.RunDirectoryVariable] = runDirectory,
        };

        var error = Assert.Throws<StateDirectoryException>(() => StateDirectory.Open(_dir.File("root"), name => environment.GetValueOrDefault(name)));

        Assert.Equal(StateDirectoryException.UntrustedErrorId, error.ErrorId);
    }

    [Fact(Timeout = 120_000)]
    public void A_user_who_cannot_enter_a_folder_above_the_program_is_told_which_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Modes are Unix's.");
        File.SetUnixFileMode(_dir.Path, FilePermissions.OwnerOnlyDirectory | UnixFileMode.OtherExecute);
        var closed = _dir.File("closed");
        Directory.CreateDirectory(closed, FilePermissions.OwnerOnlyDirectory);
        var program = Path.Combine(closed, "trainer");
        File.WriteAllText(program, "#!/bin/sh\n");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var someone = new UserAccount("someone", 4243, 4243, "/nonexistent");

        var blocked = someone.CannotRun(program);
        File.SetUnixFileMode(closed, FilePermissions.OwnerOnlyDirectory | UnixFileMode.OtherExecute);

        Assert.NotNull(blocked);
        Assert.Contains($"'{closed}'", blocked);
        Assert.Null(someone.CannotRun(program));
        Assert.Null(someone.CannotRun("/bin/sh"));
    }

    [Fact(Timeout = 120_000)]
    public void A_link_in_place_of_a_run_folder_is_refused_and_nothing_is_written_where_it_leads()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Links are Unix's here.");
        var state = StateDirectory.Open(_dir.File("state"));
        var elsewhere = _dir.File("elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(state.RunsDirectory);
        File.CreateSymbolicLink(Path.Combine(state.RunsDirectory, "run-g"), elsewhere);

        var error = Assert.Throws<StateDirectoryException>(() => state.EnsureRun("run-g"));

        Assert.Equal(StateDirectoryException.UntrustedErrorId, error.ErrorId);
        Assert.Contains("symbolic link", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }
}
