using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Tests.State;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>A really full file system: a small tmpfs mounted by the test (root only).</summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-full");
    private readonly string _mount;
    private readonly string? _skipReason;

    public DiskFullTests()
    {
        _mount = _dir.File("tmpfs");
        Directory.CreateDirectory(_mount);
        if (!OperatingSystem.IsLinux())
        {
            _skipReason = "tmpfs mounts are a Linux feature.";
        }
        else if (ReadOnlyMount.Run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", _mount) != 0)
        {
            _skipReason = "Cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): the disk-full test did not run.";
        }
    }

    public void Dispose()
    {
        if (_skipReason is null)
        {
            ReadOnlyMount.Run("umount", _mount);
        }

        _dir.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public void A_full_disk_gives_a_typed_error_and_keeps_the_previous_document()
    {
        Assert.SkipWhen(_skipReason is not null, _skipReason ?? "");
        var path = Path.Combine(_mount, "training_status.json");
        var store = new StatusStore();
        store.Write(path, new TrainingStatus { CurrentEpoch = 1, ModelPath = "first" });
        using var filler = Fill(Path.Combine(_mount, "filler"));

        var error = Assert.Throws<StatusWriteException>(() =>
            store.Write(path, new TrainingStatus { CurrentEpoch = 2, ModelPath = new string('x', 64 * 1024) }));

        Assert.True(error.IsDiskFull);
        Assert.Equal("StatusWriteDiskFull", error.ErrorId);
        Assert.Contains("file system is full", error.Message, StringComparison.Ordinal);
        var kept = store.Read<TrainingStatus>(path);
        Assert.Equal(ReadState.Ok, kept.State);
        Assert.Equal("first", kept.Document!.ModelPath);
        Assert.Equal(1, kept.Document.Seq);
        Assert.Empty(Directory.GetFiles(_mount, "*.tmp-*"));

        filler.Dispose();
        File.Delete(Path.Combine(_mount, "filler"));
        var recovered = store.Write(path, new TrainingStatus { CurrentEpoch = 2, ModelPath = "second" });
        Assert.Equal(2, recovered.Seq);
    }

    [Fact(Timeout = 120_000)]
    public void A_full_disk_never_leaves_a_partial_log_line()
    {
        Assert.SkipWhen(_skipReason is not null, _skipReason ?? "");
        var log = new JsonLinesLog<MetricRecord>(Path.Combine(_mount, "metrics.jsonl"));
        log.Append(new MetricRecord { Epoch = 1 });
        using var filler = Fill(Path.Combine(_mount, "filler"));

        var big = new MetricRecord { Epoch = 2, RunId = new string('r', 64 * 1024) };
        var error = Assert.Throws<StatusWriteException>(() => log.Append(big));

        Assert.True(error.IsDiskFull);
        var result = log.ReadAll();
        Assert.Equal([1], result.Records.Select(r => r.Epoch));
        Assert.Equal(0, result.SkippedLines);
        Assert.False(result.IncompleteTail);
    }

    /// <summary>Writes until the file system says it is full; returns the open filler so space stays taken.</summary>
    private static FileStream Fill(string path)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            return stream;
        }
    }
}
