using System.Text;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Tests.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Platform;

/// <summary>
/// A link planted at each name the product writes (issue #13): the document, its temporary file, its lock, a
/// JSON-lines log. Every write is refused or goes elsewhere; the link's target keeps its bytes.
/// </summary>
public sealed class SafeFileTests : IDisposable
{
    private const string VictimText = "root-only secret\n";
    private readonly TempDirectory _dir = new();
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false, LockTimeout = TimeSpan.FromSeconds(2) });
    private readonly string _victim;

    public SafeFileTests()
    {
        _victim = _dir.File("victim.txt");
        File.WriteAllText(_victim, VictimText);
    }

    public void Dispose() => _dir.Dispose();

    private static void SkipOnWindows() => Assert.SkipWhen(OperatingSystem.IsWindows(), "O_NOFOLLOW and owners are Unix.");

    [Fact(Timeout = 120_000)]
    public void A_link_at_a_documents_lock_is_refused_and_its_target_is_not_created()
    {
        SkipOnWindows();
        var path = _dir.File("status.json");
        var target = _dir.File("would-block-logins");
        File.CreateSymbolicLink(StatusStore.LockPathFor(path), target);

        var error = Assert.Throws<StatusWriteException>(() => _store.Write(path, new TestDocument { Text = "x" }));

        Assert.True(error.IsUnsafeFile);
        Assert.Equal(UnsafeFileException.ErrorId, error.ErrorId);
        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(path));
    }

    [Fact(Timeout = 120_000)]
    public void A_link_at_the_document_itself_is_replaced_by_the_rename_never_written_through()
    {
        SkipOnWindows();
        var path = _dir.File("status.json");
        File.CreateSymbolicLink(path, _victim);

        _store.Write(path, new TestDocument { Text = "ours" });

        Assert.Equal(VictimText, File.ReadAllText(_victim));
        Assert.False(FileStatus.TryLstat(path, out var status) && status.IsSymbolicLink);
        Assert.Equal("ours", _store.Read<TestDocument>(path).Document!.Text);
    }

    [Fact(Timeout = 120_000)]
    public void Links_planted_at_every_temporary_name_a_pid_could_use_are_never_written_through()
    {
        SkipOnWindows();
        var path = _dir.File("status.json");
        // The old name was <file>.tmp-<pid>: an attacker who knows the pid plants it. The name has a random part now.
        File.CreateSymbolicLink($"{path}.tmp-{Environment.ProcessId}", _victim);

        _store.Write(path, new TestDocument { Text = "ours" });

        Assert.Equal(VictimText, File.ReadAllText(_victim));
        Assert.Equal("ours", _store.Read<TestDocument>(path).Document!.Text);
    }

    [Fact(Timeout = 120_000)]
    public void Creating_a_new_file_at_a_planted_link_is_refused_as_unsafe()
    {
        SkipOnWindows();
        var temp = _dir.File("x.tmp-1-abc");
        File.CreateSymbolicLink(temp, _victim);

        var error = Assert.Throws<UnsafeFileException>(() => SafeFile.Open(temp, SafeFileMode.CreateNew, FileAccess.Write));

        Assert.Contains("symbolic link", error.Reason, StringComparison.Ordinal);
        Assert.Equal(VictimText, File.ReadAllText(_victim));
    }

    [Fact(Timeout = 120_000)]
    public void A_link_at_a_json_lines_log_is_refused_and_its_target_keeps_its_bytes()
    {
        SkipOnWindows();
        var path = _dir.File("events.jsonl");
        File.CreateSymbolicLink(path, _victim);
        var log = new JsonLinesLog<StabilityEvent>(path, new JsonLinesOptions { Fsync = false });

        var error = Assert.Throws<StatusWriteException>(() => log.Append(new StabilityEvent { Type = "x", Message = "y" }));

        Assert.True(error.IsUnsafeFile);
        Assert.Equal(VictimText, File.ReadAllText(_victim));
    }

    [Fact(Timeout = 120_000)]
    public void Reading_a_document_through_a_link_reports_it_unreadable_without_reading_the_target()
    {
        SkipOnWindows();
        var real = _dir.File("real.json");
        _store.Write(real, new TestDocument { Text = "elsewhere" });
        var path = _dir.File("status.json");
        File.CreateSymbolicLink(path, real);

        var read = _store.Read<TestDocument>(path);

        Assert.Equal(ReadState.Unreadable, read.State);
        Assert.Null(read.Document);
        Assert.Contains("symbolic link", read.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_read_reports_the_owner_the_kernel_gives_not_what_the_writer_wrote()
    {
        SkipOnWindows();
        var path = _dir.File("control.json");
        _store.Write(path, new TestDocument { Text = "x" });

        var read = _store.Read<TestDocument>(path);

        Assert.Equal(Native.GetEffectiveUserId(), read.OwnerUid);
    }

    [Fact(Timeout = 120_000)]
    public void A_file_of_someone_else_at_a_product_name_is_refused_for_writing()
    {
        SkipOnWindows();
        Assert.SkipUnless(UserAccount.IsRoot, "Giving a file to another user (chown) takes root.");
        var path = _dir.File("events.jsonl");
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        TestFiles.Chown(path, 65534);
        var log = new JsonLinesLog<StabilityEvent>(path, new JsonLinesOptions { Fsync = false });

        var error = Assert.Throws<StatusWriteException>(() => log.Append(new StabilityEvent { Type = "x", Message = "y" }));

        Assert.True(error.IsUnsafeFile);
        Assert.Equal(65534, ((UnsafeFileException)error.InnerException!).OwnerUid);
        Assert.Equal("", File.ReadAllText(path));
    }

    [Fact(Timeout = 120_000)]
    public void A_document_someone_else_put_at_the_name_is_not_replaced()
    {
        SkipOnWindows();
        Assert.SkipUnless(UserAccount.IsRoot, "Giving a file to another user (chown) takes root.");
        var path = _dir.File("status.json");
        File.WriteAllText(path, "planted");
        TestFiles.Chown(path, 65534);

        var error = Assert.Throws<StatusWriteException>(() => _store.Write(path, new TestDocument { Text = "ours" }));

        Assert.True(error.IsUnsafeFile);
        Assert.Equal("planted", File.ReadAllText(path));
        Assert.Empty(Directory.GetFiles(_dir.Path, "status.json.tmp-*"));
    }

    [Fact(Timeout = 120_000)]
    public void Files_are_created_owner_only_whatever_the_umask_and_a_wider_file_of_ours_is_narrowed()
    {
        SkipOnWindows();
        var path = _dir.File("log.jsonl");
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, (UnixFileMode)0x1B6 /* 0666 */);

        using (SafeFile.Open(path, SafeFileMode.Append, FileAccess.Write))
        {
        }

        using (SafeFile.Open(_dir.File("new.lock"), SafeFileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
        }

        Assert.Equal(FilePermissions.OwnerOnlyFile, File.GetUnixFileMode(path));
        Assert.Equal(FilePermissions.OwnerOnlyFile, File.GetUnixFileMode(_dir.File("new.lock")));
    }

    [Fact(Timeout = 120_000)]
    public void Appending_writes_at_the_end_and_the_stream_knows_where_that_is()
    {
        var path = _dir.File("a.log");
        File.WriteAllText(path, "first\n");

        using (var stream = SafeFile.Open(path, SafeFileMode.Append, FileAccess.Write))
        {
            Assert.Equal(6, stream.Position);
            stream.Write(Encoding.UTF8.GetBytes("second\n"));
        }

        Assert.Equal("first\nsecond\n", File.ReadAllText(path));
    }

    [Fact(Timeout = 120_000)]
    public void An_exclusive_open_is_a_lock_a_second_open_cannot_take()
    {
        var path = _dir.File("x.lock");
        using var first = SafeFile.Open(path, SafeFileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        var error = Assert.ThrowsAny<IOException>(() => SafeFile.Open(path, SafeFileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));

        Assert.True(IoErrors.IsSharingViolation(error));
    }
}
