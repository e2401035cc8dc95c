using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

public sealed class StatusStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StatusStore _store = new(new StatusStoreOptions { Fsync = false });

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 120_000)]
    public void A_written_document_reads_back_with_its_envelope()
    {
        var path = _dir.File("doc.json");
        var written = _store.Write(path, new TestDocument { Text = "hello", Counter = 3 });

        var read = _store.Read<TestDocument>(path);

        Assert.Equal(ReadState.Ok, read.State);
        Assert.Equal("hello", read.Document!.Text);
        Assert.Equal(3, read.Document.Counter);
        Assert.Equal("test_doc/1", read.Document.Schema);
        Assert.Equal(1, read.Document.Seq);
        Assert.Equal(Environment.ProcessId, read.Document.Writer!.Pid);
        Assert.Equal(Environment.MachineName, read.Document.Writer.Host);
        Assert.Equal(written, read.Document);
    }

    [Fact(Timeout = 120_000)]
    public void Each_write_increments_seq_across_store_instances()
    {
        var path = _dir.File("doc.json");
        _store.Write(path, new TestDocument());
        _store.Write(path, new TestDocument());
        var third = new StatusStore(new StatusStoreOptions { Fsync = false }).Write(path, new TestDocument());

        Assert.Equal(3, third.Seq);
        Assert.Equal(3, _store.Read<TestDocument>(path).Document!.Seq);
    }

    [Fact(Timeout = 120_000)]
    public void Documents_use_snake_case_names_and_iso_timestamps()
    {
        var path = _dir.File("training_status.json");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var store = new StatusStore(new StatusStoreOptions { Fsync = false, TimeProvider = time });
        store.Write(path, new TrainingStatus { IsRunning = true, CurrentEpoch = 2, TotalEpochs = 5, ModelPath = "m" });

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        Assert.Equal("training_status/1", root.GetProperty("schema").GetString());
        Assert.True(root.GetProperty("is_running").GetBoolean());
        Assert.Equal(2, root.GetProperty("current_epoch").GetInt32());
        Assert.Equal(5, root.GetProperty("total_epochs").GetInt32());
        Assert.Equal("2026-11-29T12:00:00+00:00", root.GetProperty("written_at").GetString());
        Assert.True(root.GetProperty("writer").TryGetProperty("pid", out _));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error_message").ValueKind);
    }

    [Fact(Timeout = 120_000)]
    public void A_NaN_loss_survives_a_round_trip()
    {
        var path = _dir.File("doc.json");
        _store.Write(path, new TestDocument { Value = double.NaN });

        Assert.Contains("\"NaN\"", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.True(double.IsNaN(_store.Read<TestDocument>(path).Document!.Value));
    }

    [Fact(Timeout = 120_000)]
    public void A_missing_document_is_reported_as_missing()
    {
        var result = _store.Read<TestDocument>(_dir.File("nope", "doc.json"));

        Assert.Equal(ReadState.Missing, result.State);
        Assert.Null(result.Document);
        Assert.Throws<ProcessCommunicationException>(() => result.GetDocumentOrThrow());
    }

    [Theory(Timeout = 120_000)]
    [InlineData("{\"schema\":\"test_doc/1\",\"seq\":", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("null", "JSON null")]
    [InlineData("[1,2]", "")]
    [InlineData("{\"schema\":\"other/1\",\"seq\":1}", "'other/1', expected 'test_doc/1'")]
    [InlineData("{\"schema\":\"test_doc/2\",\"seq\":1}", "expected 'test_doc/1'")]
    [InlineData("{\"seq\":1}", "no 'schema'")]
    [InlineData("{\"schema\":\"test_doc/1\",\"counter\":\"many\"}", "")]
    public void A_corrupt_document_is_reported_as_corrupt_with_the_reason(string content, string reason)
    {
        var path = _dir.File("doc.json");
        File.WriteAllText(path, content);

        var result = _store.Read<TestDocument>(path);

        Assert.Equal(ReadState.Corrupt, result.State);
        Assert.Null(result.Document);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_document_over_the_size_cap_is_reported_as_oversized_without_reading_it()
    {
        var path = _dir.File("doc.json");
        var store = new StatusStore(new StatusStoreOptions { Fsync = false, MaxDocumentBytes = 1024 });
        store.Write(path, new TestDocument { Text = new string('x', 2000) });

        var result = store.Read<TestDocument>(path);

        Assert.Equal(ReadState.Oversized, result.State);
        Assert.Contains("1024-byte cap", result.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void An_old_document_is_stale_but_still_returned()
    {
        var path = _dir.File("doc.json");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new StatusStore(new StatusStoreOptions { Fsync = false, TimeProvider = time });
        store.Write(path, new TestDocument { Counter = 9 });

        time.Advance(TimeSpan.FromSeconds(5));
        var fresh = store.Read<TestDocument>(path, staleAfter: TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        var stale = store.Read<TestDocument>(path, staleAfter: TimeSpan.FromSeconds(10));

        Assert.Equal(ReadState.Ok, fresh.State);
        Assert.Equal(ReadState.Stale, stale.State);
        Assert.Equal(9, stale.Document!.Counter);
        Assert.Equal(TimeSpan.FromSeconds(15), stale.Age);
    }

    [Fact(Timeout = 120_000)]
    public void A_write_waits_for_the_lock_and_gives_up_with_a_typed_error()
    {
        var path = _dir.File("doc.json");
        var store = new StatusStore(new StatusStoreOptions { Fsync = false, LockTimeout = TimeSpan.FromMilliseconds(200) });
        using (FileLock.Acquire(StatusStore.LockPathFor(path), TimeSpan.FromSeconds(1)))
        {
            var error = Assert.Throws<LockTimeoutException>(() => store.Write(path, new TestDocument()));
            Assert.Equal(StatusStore.LockPathFor(path), error.Path);
            Assert.True(error.Waited >= TimeSpan.FromMilliseconds(200));
            Assert.IsAssignableFrom<ProcessCommunicationException>(error);
        }

        Assert.Equal(1, store.Write(path, new TestDocument()).Seq);
    }

    [Fact(Timeout = 120_000)]
    public void Concurrent_updates_never_lose_an_increment()
    {
        var path = _dir.File("counter.json");
        const int threads = 4, perThread = 50;
        Parallel.For(0, threads, _ =>
        {
            var store = new StatusStore(new StatusStoreOptions { Fsync = false });
            for (var i = 0; i < perThread; i++)
            {
                store.Update<TestDocument>(path, current => (current ?? new TestDocument()) with { Counter = (current?.Counter ?? 0) + 1 });
            }
        });

        var result = _store.Read<TestDocument>(path).Document!;
        Assert.Equal(threads * perThread, result.Counter);
        Assert.Equal(threads * perThread, result.Seq);
    }

    [Fact(Timeout = 120_000)]
    public void An_update_of_a_corrupt_document_is_refused_and_leaves_it_byte_for_byte()
    {
        var path = _dir.File("doc.json");
        File.WriteAllText(path, "{garbage");
        var before = File.ReadAllBytes(path);
        var called = false;

        var error = Assert.Throws<CorruptDocumentException>(() =>
            _store.Update<TestDocument>(path, current => { called = true; return new TestDocument(); }));

        Assert.False(called);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(ReadState.Corrupt, error.State);
        Assert.Equal(path, error.Path);
        Assert.Equal("CorruptDocument", error.ErrorId);
        Assert.Contains(path, error.Message);
        Assert.Contains("not valid JSON", error.Message);
        Assert.Contains("remove it", error.Message);
    }

    [Fact(Timeout = 120_000)]
    public void An_update_of_a_missing_document_starts_from_nothing()
    {
        var path = _dir.File("doc.json");

        var updated = _store.Update<TestDocument>(path, current => new TestDocument { Counter = current is null ? 1 : 99 });

        Assert.Equal(1, updated.Counter);
        Assert.Equal(ReadState.Ok, _store.Read<TestDocument>(path).State);
    }

    [Fact(Timeout = 120_000)]
    public void A_write_leaves_no_temporary_file_and_sweeps_those_of_dead_writers()
    {
        var path = _dir.File("doc.json");
        // A pid far above pid_max can never be alive: this is a leftover of a writer killed before its rename.
        var orphan = path + ".tmp-2147483000";
        var orphanWithRandomPart = path + ".tmp-2147483001-0a1b2c3d4e5f";
        File.WriteAllText(orphan, "half");
        File.WriteAllText(orphanWithRandomPart, "half");

        _store.Write(path, new TestDocument());

        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(orphanWithRandomPart));
        Assert.Equal(["doc.json", "doc.json.lock"], Directory.GetFiles(_dir.Path).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact(Timeout = 120_000)]
    public void Files_are_created_owner_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions only.");
        var path = _dir.File("doc.json");
        _store.Write(path, new TestDocument());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(StatusStore.LockPathFor(path)));
    }

    [Fact(Timeout = 120_000)]
    public void A_write_into_a_missing_directory_is_a_typed_error_not_a_crash()
    {
        var path = _dir.File("no-such-dir", "doc.json");

        var error = Assert.Throws<StatusWriteException>(() => _store.Write(path, new TestDocument()));

        Assert.False(error.IsDiskFull);
        Assert.Contains("no-such-dir", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void Invalid_options_are_reported_together()
    {
        var error = Assert.Throws<ArgumentException>(() => new StatusStore(new StatusStoreOptions
        {
            LockTimeout = TimeSpan.FromSeconds(-1),
            MaxDocumentBytes = 1,
            ReadRetries = -1,
        }));

        Assert.Contains("LockTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDocumentBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("ReadRetries", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_reader_holding_the_file_open_does_not_block_a_writer()
    {
        var path = _dir.File("doc.json");
        _store.Write(path, new TestDocument { Counter = 1 });
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        _store.Write(path, new TestDocument { Counter = 2 });

        // The open reader still sees the whole old document; a new reader sees the whole new one.
        var old = JsonSerializer.Deserialize<TestDocument>(new StreamReader(reader, Encoding.UTF8).ReadToEnd(), StatusJson.Options)!;
        Assert.Equal(1, old.Counter);
        Assert.Equal(2, _store.Read<TestDocument>(path).Document!.Counter);
    }
}
