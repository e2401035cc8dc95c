using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.State;

public sealed class SystemMetricsHistoryTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string FilePath => _dir.File(SystemMetricsHistory.FileName);

    // One heartbeat sample, i heartbeats (5 s) after Start.
    private static SystemMetricsPoint Sample(int i, double cpu = 10, double memory = 100, double? gpu = null, int pid = 4242) => new()
    {
        Time = Start.AddSeconds(5 * i),
        SpanMs = 0,
        Samples = 1,
        Pid = pid,
        CpuPercent = cpu,
        CpuMaxPercent = cpu,
        MemoryMb = memory,
        MemoryMaxMb = memory,
        GpuMemoryMb = gpu,
        GpuMemoryMaxMb = gpu,
    };

    [Fact(Timeout = 60_000)]
    public void Appended_samples_read_back_in_order_one_snake_case_line_each()
    {
        var history = new SystemMetricsHistory(FilePath);
        for (var i = 0; i < 5; i++)
        {
            history.Append(Sample(i, cpu: i, gpu: i == 4 ? 512 : null));
        }

        var read = SystemMetricsHistory.Read(FilePath);

        Assert.Equal(0, read.Skipped);
        Assert.Equal([0.0, 1, 2, 3, 4], read.Points.Select(p => p.CpuPercent));
        Assert.Equal(Start.AddSeconds(20), read.Points[^1].Time);
        Assert.Equal(512, read.Points[^1].GpuMemoryMb);
        Assert.Null(read.Points[0].GpuMemoryMb);
        Assert.Equal(5, File.ReadAllLines(FilePath).Length);
        var text = File.ReadAllText(FilePath);
        foreach (var field in new[] { "\"time\":", "\"span_ms\":0", "\"samples\":1", "\"pid\":4242", "\"cpu_percent\":", "\"cpu_max_percent\":", "\"memory_mb\":100", "\"memory_max_mb\":100", "\"gpu_memory_mb\":null", "\"gpu_memory_max_mb\":512" })
        {
            Assert.Contains(field, text, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public void A_missing_file_or_folder_is_an_empty_history()
    {
        Assert.Empty(SystemMetricsHistory.Read(FilePath).Points);
        Assert.Empty(SystemMetricsHistory.Read(_dir.File("no-such-run", SystemMetricsHistory.FileName)).Points);
    }

    [Fact(Timeout = 60_000)]
    public void The_file_never_holds_more_than_max_points_and_keeps_the_newest_at_full_resolution()
    {
        const int max = 64;
        var history = new SystemMetricsHistory(FilePath, max);
        for (var i = 0; i < 1000; i++)
        {
            history.Append(Sample(i, cpu: i));
            Assert.True(File.ReadAllLines(FilePath).Length <= max, $"{File.ReadAllLines(FilePath).Length} lines after {i + 1} appends");
        }

        var points = SystemMetricsHistory.Read(FilePath).Points;

        Assert.Equal(1000, points.Sum(p => p.Samples));
        Assert.Equal(Start.AddSeconds(5 * 999), points[^1].Time);
        // The newest quarter of the bound is always single samples, the oldest points the coarsest.
        Assert.All(points.TakeLast(max / 4), p => Assert.Equal(1, p.Samples));
        Assert.True(points[0].Samples > points[^1].Samples);
        Assert.Equal(points.OrderBy(p => p.Time), points);
        // Nothing is lost to the merges: the weighted mean of all points is the mean of all samples.
        Assert.Equal(Enumerable.Range(0, 1000).Average(), points.Sum(p => p.CpuPercent * p.Samples) / 1000, precision: 1);
        Assert.Equal(999, points.Max(p => p.CpuMaxPercent));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp-*"));
    }

    [Fact(Timeout = 60_000)]
    public void A_compaction_merges_the_older_half_pairwise_with_weighted_means_and_maxima()
    {
        var history = new SystemMetricsHistory(FilePath, maxPoints: 8);
        for (var i = 0; i < 9; i++)
        {
            history.Append(Sample(i, cpu: i * 10, memory: 100 + i, gpu: i % 2 == 0 ? 1000 : null, pid: 100 + i));
        }

        var points = SystemMetricsHistory.Read(FilePath).Points;

        // 9 points: the older 4 merged into 2, the newer 5 kept.
        Assert.Equal([2, 2, 1, 1, 1, 1, 1], points.Select(p => p.Samples));
        var first = points[0];
        Assert.Equal(Start.AddSeconds(5), first.Time);
        Assert.Equal(5000, first.SpanMs);
        Assert.Equal(101, first.Pid);
        Assert.Equal(5, first.CpuPercent);
        Assert.Equal(10, first.CpuMaxPercent);
        Assert.Equal(100.5, first.MemoryMb);
        Assert.Equal(101, first.MemoryMaxMb);
        // The GPU was read at one of the two samples: the mean is over that one.
        Assert.Equal(1000, first.GpuMemoryMb);
        Assert.Equal(1000, first.GpuMemoryMaxMb);
        Assert.Equal(Start.AddSeconds(40), points[^1].Time);

        // A second level: merged points weigh by their samples.
        var merged = SystemMetricsHistory.Merge(first with { CpuPercent = 10, Samples = 3 }, points[2] with { CpuPercent = 50 });
        Assert.Equal(20, merged.CpuPercent);
        Assert.Equal(4, merged.Samples);
        Assert.Equal(20000, merged.SpanMs);
    }

    [Fact(Timeout = 60_000)]
    public void A_month_at_a_five_second_heartbeat_stays_under_half_a_megabyte()
    {
        var history = new SystemMetricsHistory(FilePath);
        var random = new Random(24);
        // A month of samples would take minutes to append; the file's size depends on the bound, not on the time covered.
        for (var i = 0; i < SystemMetricsHistory.DefaultMaxPoints * 3; i++)
        {
            // The widest point there is: a 7-digit pid, times with milliseconds, every figure with hundredths, a GPU.
            history.Append(Sample(i, cpu: random.NextDouble() * 800, memory: 1000 + random.NextDouble() * 30000, gpu: random.NextDouble() * 80000) with
            {
                Pid = 3_000_000,
                Time = Start.AddMilliseconds((5000 * i) + 123),
            });
        }

        Assert.True(new FileInfo(FilePath).Length < 512 * 1024, $"{new FileInfo(FilePath).Length} bytes");
        Assert.True(File.ReadAllLines(FilePath).Length <= SystemMetricsHistory.DefaultMaxPoints);
    }

    [Fact(Timeout = 60_000)]
    public void A_partial_last_line_is_skipped_and_the_next_append_starts_a_fresh_line()
    {
        var history = new SystemMetricsHistory(FilePath);
        history.Append(Sample(0));
        File.AppendAllText(FilePath, "{\"time\":\"2026-12-04T12:00:05Z\",\"span_ms\":0,\"sam");

        var torn = SystemMetricsHistory.Read(FilePath);
        history.Append(Sample(2));
        var after = SystemMetricsHistory.Read(FilePath);

        Assert.Single(torn.Points);
        Assert.Equal(1, torn.Skipped);
        Assert.Equal([Start, Start.AddSeconds(10)], after.Points.Select(p => p.Time));
        Assert.Equal(1, after.Skipped);
    }

    [Fact(Timeout = 60_000)]
    public void Corrupt_lines_are_skipped_and_counted_and_a_compaction_drops_them()
    {
        File.WriteAllText(FilePath, "not json\n\n{\"time\":5}\n[1,2]\n{\"pid\":\"" + new string('x', 200_000) + "\"}\n");
        var history = new SystemMetricsHistory(FilePath, maxPoints: 4);

        var corrupt = SystemMetricsHistory.Read(FilePath);
        history.Append(Sample(0));
        history.Append(Sample(1));
        var after = SystemMetricsHistory.Read(FilePath);

        Assert.Empty(corrupt.Points);
        Assert.Equal(4, corrupt.Skipped);
        Assert.Equal(0, after.Skipped);
        Assert.Equal(2, after.Points.Sum(p => p.Samples));
    }

    [Fact(Timeout = 60_000)]
    public void Appends_of_another_writer_are_counted_before_the_bound_is_judged()
    {
        var ours = new SystemMetricsHistory(FilePath, maxPoints: 8);
        var theirs = new SystemMetricsHistory(FilePath, maxPoints: 8);
        for (var i = 0; i < 20; i++)
        {
            (i % 3 == 0 ? theirs : ours).Append(Sample(i));
        }

        Assert.True(File.ReadAllLines(FilePath).Length <= 8);
        Assert.Equal(20, SystemMetricsHistory.Read(FilePath).Points.Sum(p => p.Samples));
    }

    [Fact(Timeout = 60_000)]
    public void A_link_at_the_file_is_refused_and_its_target_keeps_its_bytes()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "O_NOFOLLOW is Unix.");
        var victim = _dir.File("victim.txt");
        File.WriteAllText(victim, "precious\n");
        File.CreateSymbolicLink(FilePath, victim);

        var error = Assert.Throws<StatusWriteException>(() => new SystemMetricsHistory(FilePath).Append(Sample(0)));

        Assert.True(error.IsUnsafeFile);
        Assert.Equal(UnsafeFileException.ErrorId, error.ErrorId);
        Assert.Equal("precious\n", File.ReadAllText(victim));
        Assert.Throws<UnsafeFileException>(() => SystemMetricsHistory.Read(FilePath));
    }

    [Fact(Timeout = 60_000)]
    public void Downsample_returns_at_most_max_points_over_the_whole_history()
    {
        var points = Enumerable.Range(0, 100).Select(i => Sample(i, cpu: i, memory: 100 - i)).ToList();

        var chart = SystemMetricsHistory.Downsample(points, 30);

        Assert.True(chart.Count <= 30);
        Assert.Equal(100, chart.Sum(p => p.Samples));
        Assert.Equal(points[^1].Time, chart[^1].Time);
        Assert.Equal(Start.AddSeconds(5 * 3), chart[0].Time);
        Assert.Equal(1.5, chart[0].CpuPercent);
        Assert.Equal(3, chart[0].CpuMaxPercent);
        Assert.Equal(100, chart[0].MemoryMaxMb);
        Assert.Equal(points.Average(p => p.CpuPercent), chart.Sum(p => p.CpuPercent * p.Samples) / 100, precision: 6);
        Assert.Same(points, SystemMetricsHistory.Downsample(points, 100));
    }

    [Fact(Timeout = 60_000)]
    public void A_run_keeps_its_history_in_its_folder_and_a_service_without_one_in_its_own()
    {
        var state = StateDirectory.Open(_dir.File("state"));

        Assert.Equal(Path.Combine(state.RunsDirectory, "20261204-120000-abcd", "system_metrics.jsonl"), SystemMetricsHistory.PathFor(state, "trainer", "20261204-120000-abcd"));
        Assert.Equal(Path.Combine(state.ServicesDirectory, "web", "system_metrics.jsonl"), SystemMetricsHistory.PathFor(state, "web", null));
        Assert.Throws<ArgumentException>(() => SystemMetricsHistory.PathFor(state, "web", "../etc"));
    }

    [Fact(Timeout = 60_000)]
    public void A_run_handed_to_another_user_keeps_its_history_in_the_services_folder_not_the_run_its_user_writes()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var spec = new ServiceSpec { FilePath = "train.py", RunId = "20261204-120000-abcd" };

        Assert.Equal(SystemMetricsHistory.PathFor(state, "trainer", spec.RunId), SystemMetricsHistory.PathForSpec(state, "trainer", spec));
        Assert.Equal(SystemMetricsHistory.PathFor(state, "trainer", "older-run"), SystemMetricsHistory.PathForSpec(state, "trainer", spec, "older-run"));
        Assert.Equal(SystemMetricsHistory.PathFor(state, "trainer", null), SystemMetricsHistory.PathForSpec(state, "trainer", spec with { RunAsUser = "alice" }));
        Assert.Equal(SystemMetricsHistory.PathFor(state, "trainer", null), SystemMetricsHistory.PathForSpec(state, "trainer", spec with { RunAsUser = "alice" }, "older-run"));
    }

    [Fact(Timeout = 60_000)]
    public void Reading_a_services_history_follows_its_spec_to_its_run_and_downsamples_on_request()
    {
        var state = StateDirectory.Open(_dir.File("state"));
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        state.EnsureServiceDirectory("trainer");
        store.Write(state.ServiceSpecPath("trainer"), new ServiceSpec { Name = "trainer", FilePath = "train.py", RunId = "run-a" });
        state.EnsureRun("run-a");
        var history = new SystemMetricsHistory(SystemMetricsHistory.PathFor(state, "trainer", "run-a"));
        for (var i = 0; i < 10; i++)
        {
            history.Append(Sample(i));
        }

        Assert.Equal(10, SystemMetricsHistory.ReadFor(state, "trainer").Points.Count);
        Assert.Equal(5, SystemMetricsHistory.ReadFor(state, "trainer", maxPoints: 5).Points.Count);
        Assert.Empty(SystemMetricsHistory.ReadFor(state, "trainer", runId: "run-b").Points);
        Assert.Throws<ServiceNotFoundException>(() => SystemMetricsHistory.ReadFor(state, "nobody"));
    }
}
