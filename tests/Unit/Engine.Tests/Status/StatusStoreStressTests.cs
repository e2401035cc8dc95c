using System.Diagnostics;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>
/// Real OS processes against one document: 4 writers SIGKILLed at random moments and restarted, 4 readers
/// checking every document they see (parse, schema, payload checksum, seq never going back).
/// </summary>
public sealed class StatusStoreStressTests : IDisposable
{
    private const int Writers = 4;
    private const int Readers = 4;
    private const long TargetWrites = 20_000;
    private const int MinimumKills = 30;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new("st-stress");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            p.Dispose();
        }

        _dir.Dispose();
    }

    [Fact(Timeout = 420_000)]
    public async Task Writers_killed_at_random_never_tear_a_document_or_leave_the_lock_held()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = _dir.File("doc.json");
        var stopFile = _dir.File("stop");
        var random = new Random(20261129);
        var clock = Stopwatch.StartNew();

        var readers = new List<Process>();
        for (var i = 0; i < Readers; i++)
        {
            var reader = Track(TestPrograms.StartDummy("store-read", "--path", path, "--stop-file", stopFile));
            await ExpectLineAsync(reader, "ready", ct);
            readers.Add(reader);
        }

        var writers = new Process[Writers];
        for (var i = 0; i < Writers; i++)
        {
            writers[i] = StartWriter(path, i);
        }

        await ExpectLineAsync(writers[0], "ready", ct);

        var store = new StatusStore();
        var kills = 0;
        long seq = 0;
        while (seq < TargetWrites || kills < MinimumKills)
        {
            Assert.True(clock.Elapsed < Deadline, $"Only {seq} writes after {clock.Elapsed}; {kills} kills.");

            // The kill schedule: a random writer at a random moment, 20–300 ms apart, often mid-write. The next
            // delay starts once the replacement has written, so a loaded machine still spends its time writing
            // rather than starting processes.
            await Task.Delay(random.Next(20, 300), ct);
            var victim = random.Next(Writers);
            writers[victim].Kill();
            await writers[victim].WaitForExitAsync(ct);
            kills++;
            writers[victim] = StartWriter(path, victim);
            await ExpectLineAsync(writers[victim], "ready", ct);

            var current = store.Read<StressProbe>(path);
            Assert.True(current.State is ReadState.Ok, $"The test's own read found {current.State}: {current.Error}");
            seq = current.Document!.Seq;
        }

        foreach (var writer in writers)
        {
            writer.Kill();
            await writer.WaitForExitAsync(ct);
        }

        // Every writer is dead, some killed while holding the lock: the kernel must have released it.
        using (var held = FileLock.TryAcquire(StatusStore.LockPathFor(path)))
        {
            Assert.NotNull(held);
        }

        await File.WriteAllTextAsync(stopFile, "stop", ct);
        var summaries = new List<JsonElement>();
        foreach (var reader in readers)
        {
            var output = await reader.StandardOutput.ReadToEndAsync(ct).WaitAsync(HandshakeTimeout, ct);
            await reader.WaitForExitAsync(ct).WaitAsync(HandshakeTimeout, ct);
            var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            summaries.Add(JsonDocument.Parse(last).RootElement.Clone());
        }

        var final = store.Read<StressProbe>(path);
        Assert.Equal(ReadState.Ok, final.State);
        Assert.True(final.Document!.Seq >= TargetWrites);
        Assert.True(kills >= MinimumKills, $"only {kills} kills");
        foreach (var summary in summaries)
        {
            var detail = summary.GetRawText();
            Assert.True(summary.GetProperty("ok").GetInt64() > 0, detail);
            Assert.Equal(0, summary.GetProperty("invalid").GetInt64());
            Assert.Equal(0, summary.GetProperty("checksum_mismatch").GetInt64());
            Assert.Equal(0, summary.GetProperty("seq_regressions").GetInt64());
        }

        // Writers killed between write and rename leave a temp file; each restart sweeps those of dead pids.
        var leftovers = Directory.GetFiles(_dir.Path, "doc.json.tmp-*");
        Assert.True(leftovers.Length <= Writers, string.Join(", ", leftovers));

        var totalReads = summaries.Sum(s => s.GetProperty("reads").GetInt64());
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{final.Document.Seq} writes, {kills} SIGKILLs, {totalReads} reads, 0 invalid, in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    // fsync decides what survives a power loss, not a killed process: the rename is atomic either way. Off by
    // default so 20,000 writes fit a CI run on two cores; STABILITY_STRESS_FSYNC=true runs it with fsync.
    private static readonly string Fsync = Environment.GetEnvironmentVariable("STABILITY_STRESS_FSYNC") == "true" ? "true" : "false";

    private Process StartWriter(string path, int index) =>
        Track(TestPrograms.StartDummy("store-write", "--path", path, "--writer", index.ToString(System.Globalization.CultureInfo.InvariantCulture), "--fsync", Fsync));

    private Process Track(Process process)
    {
        _processes.Add(process);
        return process;
    }

    private static async Task ExpectLineAsync(Process process, string expected, CancellationToken ct)
    {
        var line = await process.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(HandshakeTimeout, ct);
        if (line != expected)
        {
            var error = process.HasExited ? await process.StandardError.ReadToEndAsync(ct) : "";
            Assert.Fail($"Expected '{expected}' from the dummy, got '{line}'. {error}");
        }
    }

    /// <summary>Reads the stress document's envelope (the dummy's own type lives in the dummy).</summary>
    private sealed record StressProbe : StatusDocument, IStatusSchema
    {
        public static string SchemaName => "stress";

        public static int SchemaVersion => 1;

        public string Payload { get; init; } = "";
    }
}
