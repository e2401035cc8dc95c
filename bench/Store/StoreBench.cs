using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Bench.Store;

/// <summary>
/// The status store against the bare cost of what it does (issue #2): a locked atomic write against a plain
/// write + fsync + rename of the same bytes, measured interleaved in one run so machine noise hits both alike;
/// lock-free read latency of a 4 KB document; and throughput of 4 concurrent writer processes.
/// </summary>
internal static class StoreBench
{
    private const int Rounds = 2000;
    private const int Reads = 20000;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "writer")
        {
            return Writer(args[1], TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)));
        }

        var dir = Path.Combine(Path.GetTempPath(), $"st-bench-store-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var report = new StringBuilder(BenchReport.Header("Status store (`stability-bench store`)"));
            report.AppendLine($"Files in `{Path.GetTempPath()}`; document ≈ {Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(Document(0), StatusJson.Options))} bytes; {Rounds} interleaved rounds per pair, {Reads} reads.");
            report.AppendLine();
            report.AppendLine("| operation | p50 ms | p99 ms | ratio of p50 to bare |");
            report.AppendLine("|---|---:|---:|---:|");
            foreach (var fsync in new[] { true, false })
            {
                var (bare, store) = MeasureWrites(dir, fsync);
                var label = fsync ? "with fsync" : "without fsync";
                report.AppendLine($"| bare write{(fsync ? "+fsync" : "")}+rename | {BenchReport.F(P(bare, 50))} | {BenchReport.F(P(bare, 99))} | 1.00 |");
                report.AppendLine($"| StatusStore.Write, locked, {label} | {BenchReport.F(P(store, 50))} | {BenchReport.F(P(store, 99))} | {BenchReport.F(P(store, 50) / P(bare, 50), "0.00")} |");
            }

            var reads = MeasureReads(dir);
            report.AppendLine($"| StatusStore.Read, 4 KB, lock-free | {BenchReport.F(P(reads, 50))} | {BenchReport.F(P(reads, 99))} | |");
            report.AppendLine();
            var (writes, seconds) = await MeasureConcurrentWritersAsync(dir, 4, TimeSpan.FromSeconds(5));
            report.AppendLine($"4 concurrent writer processes (fsync on), {BenchReport.F(seconds, "0.0")} s: {writes} writes, **{BenchReport.F(writes / seconds, "0")} writes/s** in total.");
            Console.WriteLine(report.ToString());
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double P(List<double> samples, double p)
    {
        samples.Sort();
        return BenchReport.Percentile(samples, p);
    }

    private static BenchDocument Document(int i) => new() { Payload = new string((char)('a' + (i % 26)), 3800), Counter = i };

    private static (List<double> Bare, List<double> Store) MeasureWrites(string dir, bool fsync)
    {
        var storePath = Path.Combine(dir, $"store-{fsync}.json");
        var barePath = Path.Combine(dir, $"bare-{fsync}.json");
        var store = new StatusStore(new StatusStoreOptions { Fsync = fsync });
        var bare = new List<double>(Rounds);
        var locked = new List<double>(Rounds);
        for (var i = -50; i < Rounds; i++)
        {
            // The bare side writes exactly the bytes the store would write for this document.
            var bytes = JsonSerializer.SerializeToUtf8Bytes(Document(i) with { Schema = "bench/1", Seq = i, WrittenAt = DateTimeOffset.UtcNow, Writer = WriterInfo.Current }, StatusJson.Options);
            var t0 = Stopwatch.GetTimestamp();
            BareWrite(barePath, bytes, fsync);
            var t1 = Stopwatch.GetTimestamp();
            store.Write(storePath, Document(i));
            var t2 = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                bare.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                locked.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
            }
        }

        return (bare, locked);
    }

    private static void BareWrite(string path, byte[] bytes, bool fsync)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.Read, 0))
        {
            stream.Write(bytes);
            if (fsync)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        File.Move(temp, path, overwrite: true);
    }

    private static List<double> MeasureReads(string dir)
    {
        var path = Path.Combine(dir, "read.json");
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        store.Write(path, Document(1));
        var samples = new List<double>(Reads);
        for (var i = -500; i < Reads; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var result = store.Read<BenchDocument>(path);
            var elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (result.State != ReadState.Ok)
            {
                throw new InvalidOperationException($"read failed: {result.State}");
            }

            if (i >= 0)
            {
                samples.Add(elapsed);
            }
        }

        return samples;
    }

    private static async Task<(long Writes, double Seconds)> MeasureConcurrentWritersAsync(string dir, int count, TimeSpan duration)
    {
        var path = Path.Combine(dir, "concurrent.json");
        var self = typeof(StoreBench).Assembly.Location;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath ?? "dotnet";
        var processes = Enumerable.Range(0, count).Select(_ =>
        {
            var info = new ProcessStartInfo(host) { RedirectStandardOutput = true };
            foreach (var a in new[] { self, "store", "writer", path, duration.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(a);
            }

            return Process.Start(info)!;
        }).ToList();
        long writes = 0;
        double seconds = 0;
        foreach (var p in processes)
        {
            var line = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            var parts = line.Trim().Split(' ');
            writes += long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            seconds = Math.Max(seconds, double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        var final = new StatusStore().Read<BenchDocument>(path).Document!;
        if (final.Seq != writes)
        {
            throw new InvalidOperationException($"seq {final.Seq} != {writes} writes: a write was lost");
        }

        return (writes, seconds);
    }

    private static int Writer(string path, TimeSpan duration)
    {
        var store = new StatusStore(new StatusStoreOptions { Fsync = true, LockTimeout = TimeSpan.FromSeconds(30) });
        store.Write(path + ".warmup", Document(0));
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < duration)
        {
            store.Write(path, Document((int)n));
            n++;
        }

        Console.WriteLine($"{n} {clock.Elapsed.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        return 0;
    }

    private sealed record BenchDocument : StatusDocument, IStatusSchema
    {
        public static string SchemaName => "bench";

        public static int SchemaVersion => 1;

        public string Payload { get; init; } = "";

        public int Counter { get; init; }
    }
}
