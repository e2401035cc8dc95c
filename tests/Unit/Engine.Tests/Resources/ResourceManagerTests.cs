using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Resources;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Resources;

public sealed class ResourceManagerTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-res");
    private readonly FakeNvidiaSmi _smi = new("a100x4");
    private readonly StateDirectory _state;

    public ResourceManagerTests() => _state = StateDirectory.Open(_dir.File("state"));

    public void Dispose()
    {
        _smi.Dispose();
        _dir.Dispose();
    }

    private ResourceManager Gpus() => new(_state, new NvidiaSmiProbe(_smi.Path), new StatusStore(new StatusStoreOptions { Fsync = false }));

    private ResourceManager NoGpu() => new(_state, NoGpuProbe.Instance, new StatusStore(new StatusStoreOptions { Fsync = false }));

    [Fact(Timeout = 120_000)]
    public void A_trainer_gets_every_GPU_and_the_dashboard_none()
    {
        var manager = Gpus();

        var training = manager.AllocateGpuResources("training", isDashboard: false);
        var dashboard = manager.AllocateGpuResources("dashboard", isDashboard: true);

        Assert.Equal([0, 1, 2, 3], training.Devices);
        Assert.Equal("0,1,2,3", ResourceManager.CudaVisibleDevices(training));
        Assert.Empty(dashboard.Devices);
        Assert.Equal("", ResourceManager.CudaVisibleDevices(dashboard));
    }

    [Fact(Timeout = 120_000)]
    public void An_exclusive_device_claimed_twice_is_a_resource_conflict()
    {
        var manager = Gpus();
        manager.AllocateGpuResources("training", isDashboard: false, devices: [1], exclusive: true);

        var error = Assert.Throws<ResourceConflictException>(() => manager.AllocateGpuResources("training-b", isDashboard: false, devices: [1, 2]));

        Assert.Equal("GPU 1", error.Resource);
        Assert.Contains("held exclusively by service 'training'", error.Message, StringComparison.Ordinal);
        // The refused request changed nothing.
        Assert.DoesNotContain(new StatusStore().Read<ResourceQuotas>(_state.QuotasPath).Document!.GpuAllocations, a => a.Service == "training-b");
        // A shared allocation of other devices is fine, and releasing frees the device.
        Assert.Equal([2], manager.AllocateGpuResources("training-b", isDashboard: false, devices: [2]).Devices);
        manager.ReleaseGpuResources("training");
        Assert.Equal([1], manager.AllocateGpuResources("training-c", isDashboard: false, devices: [1], exclusive: true).Devices);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(ServiceState.Stopped, true)]
    [InlineData(ServiceState.Fatal, true)]
    [InlineData(ServiceState.Running, false)]
    public void An_exclusive_claim_ends_with_its_holder(ServiceState holderState, bool supervisorAlive)
    {
        var manager = Gpus();
        manager.AllocateGpuResources("holder", isDashboard: false, devices: [0], exclusive: true);
        _state.EnsureServiceDirectory("holder");
        // A running holder whose supervisor pid is dead (pid_max is far below this) has let go too.
        new StatusStore(new StatusStoreOptions { Fsync = false }).Write(_state.ServiceStatusPath("holder"), new ProcessStatus
        {
            Name = "holder",
            Status = holderState,
            SupervisorPid = supervisorAlive ? Environment.ProcessId : 2147483000,
            Host = Environment.MachineName,
        });

        var taken = manager.AllocateGpuResources("next", isDashboard: false, devices: [0], exclusive: true);

        Assert.Equal([0], taken.Devices);
        Assert.DoesNotContain(new StatusStore().Read<ResourceQuotas>(_state.QuotasPath).Document!.GpuAllocations, a => a.Service == "holder");
    }

    [Fact(Timeout = 120_000)]
    public void A_live_running_holder_keeps_its_exclusive_claim()
    {
        var manager = Gpus();
        manager.AllocateGpuResources("holder", isDashboard: false, devices: [0], exclusive: true);
        _state.EnsureServiceDirectory("holder");
        new StatusStore(new StatusStoreOptions { Fsync = false }).Write(_state.ServiceStatusPath("holder"), new ProcessStatus
        {
            Name = "holder",
            Status = ServiceState.Running,
            SupervisorPid = Environment.ProcessId,
            Host = Environment.MachineName,
        });

        Assert.Throws<ResourceConflictException>(() => manager.AllocateGpuResources("next", isDashboard: false, devices: [0]));
    }

    [Fact(Timeout = 120_000)]
    public void An_unknown_device_is_a_clear_error_naming_the_devices_there_are()
    {
        var error = Assert.Throws<ResourceRequestException>(() => Gpus().AllocateGpuResources("training", false, devices: [7]));

        Assert.Contains("There is no GPU 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("GPU 3 (NVIDIA A100-SXM4-80GB, 81920 MiB)", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void A_quota_above_the_device_memory_is_refused_with_what_the_device_has()
    {
        var error = Assert.Throws<ResourceRequestException>(() => Gpus().SetGpuQuota("training", 90_000, device: 0));

        Assert.Contains("more than GPU 0 has (81920 MiB)", error.Message, StringComparison.Ordinal);
        Assert.Equal("InvalidResourceRequest", error.ErrorId);
        Assert.Empty(Gpus().GetGpuQuotas());
    }

    [Fact(Timeout = 120_000)]
    public void Quotas_are_recorded_replaced_and_removed()
    {
        var manager = Gpus();
        manager.SetGpuQuota("training", 4096, device: 0, action: QuotaAction.Restart);
        manager.SetGpuQuota("training", 8192, device: 0, action: QuotaAction.Stop);
        manager.SetGpuQuota("eval", 1024);

        var quotas = manager.GetGpuQuotas();
        Assert.Equal(2, quotas.Count);
        Assert.Equal(new GpuQuota("training", 8192, 0, QuotaAction.Stop, false), manager.GetGpuQuotas("training").Single());
        Assert.Equal(1, manager.RemoveGpuQuota("eval"));
        Assert.Equal(0, manager.RemoveGpuQuota("eval"));
    }

    [Fact(Timeout = 120_000)]
    public void An_exclusive_quota_cannot_share_a_device_with_another_service()
    {
        var manager = Gpus();
        manager.SetGpuQuota("training", 4096, device: 2);

        var error = Assert.Throws<ResourceConflictException>(() => manager.SetGpuQuota("other", 1024, device: 2, exclusive: true));

        Assert.Contains("already claimed by service 'training'", error.Message, StringComparison.Ordinal);
        manager.SetGpuQuota("other", 1024, device: 3, exclusive: true);
    }

    [Fact(Timeout = 120_000)]
    public void A_dashboard_can_have_no_GPU_quota()
    {
        Directory.CreateDirectory(_state.ServiceDirectory("dashboard"));
        File.WriteAllText(_state.ServiceSpecPath("dashboard"), """{"schema":"service_spec/1","kind":"dashboard"}""");

        var error = Assert.Throws<ResourceRequestException>(() => Gpus().SetGpuQuota("dashboard", 1024));

        Assert.Contains("never gets a GPU", error.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(0, null, null, "between 1 and")]
    [InlineData(null, 64, null, "core(s) 64 do not exist")]
    [InlineData(null, -1, null, "core(s) -1 do not exist")]
    [InlineData(null, null, 20, "between -20 (highest) and 19 (lowest)")]
    public void Impossible_limits_are_refused_with_what_the_machine_has(int? memory, int? core, int? priority, string expected)
    {
        var error = Assert.Throws<ResourceRequestException>(() =>
            NoGpu().SetResourceLimit("training", memory, null, core is { } c ? [c] : null, priority));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Null(NoGpu().GetLimits("training"));
    }

    [Fact(Timeout = 120_000)]
    public void Limits_merge_with_what_was_set_before()
    {
        var manager = NoGpu();
        manager.SetResourceLimit("training", memoryLimitMb: 512, memoryAction: QuotaAction.Restart);
        var merged = manager.SetResourceLimit("training", cpuAffinity: [0], priority: 5);

        Assert.Equal(new ServiceLimits("training", 512, QuotaAction.Restart, [0], 5) with { CpuAffinity = merged.CpuAffinity }, merged);
        Assert.Equal([0], merged.CpuAffinity);
        // An empty affinity list clears it.
        Assert.Null(manager.SetResourceLimit("training", cpuAffinity: []).CpuAffinity);
    }

    [Fact(Timeout = 120_000)]
    public void Without_a_GPU_quotas_are_kept_but_reported_not_enforceable()
    {
        var manager = NoGpu();
        manager.SetGpuQuota("training", 4096);

        var allocation = manager.AllocateGpuResources("training", isDashboard: false);
        var report = manager.CheckMemoryUsage();

        Assert.Empty(allocation.Devices);
        Assert.Equal("none", report.GpuSource);
        var row = Assert.Single(report.Services);
        Assert.Equal(4096, row.GpuQuotaMb);
        Assert.False(row.QuotaEnforceable);
        Assert.True(report.SystemMemoryTotalMb > 0);
        Assert.Equal(Environment.ProcessorCount, report.Cores);
    }

    [Fact(Timeout = 120_000)]
    public void The_usage_report_joins_status_quotas_limits_and_allocations()
    {
        var manager = Gpus();
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        _state.EnsureServiceDirectory("training");
        store.Write(_state.ServiceStatusPath("training"), new ProcessStatus { Name = "training", Status = ServiceState.Running, MemoryUsage = 300, CpuUsage = 150, GpuMemoryMb = 2000 });
        manager.SetGpuQuota("training", 4096, device: 0);
        manager.SetResourceLimit("training", memoryLimitMb: 1024);
        manager.AllocateGpuResources("training", isDashboard: false);

        var row = manager.CheckMemoryUsage().Services.Single(s => s.Service == "training");

        Assert.Equal(("running", 300.0, 1024.0, 150.0, 2000.0, 4096.0, true), (row.State, row.MemoryMb, row.MemoryLimitMb!.Value, row.CpuPercent, row.GpuMemoryMb!.Value, row.GpuQuotaMb!.Value, row.QuotaEnforceable));
        Assert.Equal([0], row.GpuDevices);
    }

    [Fact(Timeout = 120_000)]
    public void A_service_over_its_quotas_gets_one_violation_each_with_the_configured_action()
    {
        var manager = Gpus();
        manager.SetGpuQuota("training", 20_480, device: 3, action: QuotaAction.Restart);
        manager.SetResourceLimit("training", memoryLimitMb: 100, memoryAction: QuotaAction.Stop);
        var quotas = new StatusStore().Read<ResourceQuotas>(_state.QuotasPath).Document!;
        var snapshot = new NvidiaSmiProbe(_smi.Path).Probe();

        var over = ResourceManager.EvaluateLimits("training", residentMb: 150, pids: [31877, 31878], snapshot, quotas);
        var within = ResourceManager.EvaluateLimits("training", residentMb: 50, pids: [31877], snapshot, quotas);
        var otherDevice = ResourceManager.EvaluateLimits("training", residentMb: 50, pids: [24601], snapshot, quotas);

        Assert.Equal(2, over.Count);
        Assert.Equal(new LimitViolation("memory", 150, 100, QuotaAction.Stop), over.Single(v => v.Kind == "memory"));
        var gpu = over.Single(v => v.Kind == "gpu_memory");
        Assert.Equal((40956.0, 20480.0, QuotaAction.Restart, (int?)3), (gpu.UsedMb, gpu.LimitMb, gpu.Action, gpu.Device));
        Assert.Contains("over the quota of 20480 MiB", gpu.Describe(), StringComparison.Ordinal);
        Assert.Empty(within);
        Assert.Empty(otherDevice);
    }

    public static TheoryData<string> Corruptions => ["bom", "truncated", "not-json", "wrong-schema", "wrong-type", "json-null"];

    /// <summary>A quotas.json that held another service's limit and quota, then was damaged as <paramref name="how"/> says.</summary>
    private byte[] CorruptQuotas(string how)
    {
        var manager = Gpus();
        manager.SetResourceLimit("other", memoryLimitMb: 512);
        manager.SetGpuQuota("other", 1024, device: 1);
        var good = File.ReadAllBytes(_state.QuotasPath);
        var text = System.Text.Encoding.UTF8.GetString(good);
        byte[] bad = how switch
        {
            "bom" => [0xEF, 0xBB, 0xBF, .. good],
            "truncated" => good[..(good.Length / 2)],
            "not-json" => "resource quotas, as edited by hand"u8.ToArray(),
            "wrong-schema" => System.Text.Encoding.UTF8.GetBytes(text.Replace("resource_quotas/1", "resource_quotas/9", StringComparison.Ordinal)),
            "wrong-type" => System.Text.Encoding.UTF8.GetBytes(System.Text.RegularExpressions.Regex.Replace(text, "\"limits\":\\[.*?\\]", "\"limits\":\"none\"")),
            "json-null" => "null"u8.ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
        Assert.NotEqual(good, bad);
        File.WriteAllBytes(_state.QuotasPath, bad);
        return bad;
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Corruptions))]
    public void A_quotas_file_that_cannot_be_read_refuses_every_change_and_stays_byte_for_byte(string how)
    {
        var bad = CorruptQuotas(how);
        var manager = Gpus();
        var changes = new (string Name, Action Change)[]
        {
            ("SetResourceLimit", () => manager.SetResourceLimit("training", memoryLimitMb: 256)),
            ("SetGpuQuota", () => manager.SetGpuQuota("training", 2048)),
            ("RemoveGpuQuota", () => manager.RemoveGpuQuota("other")),
            ("AllocateGpuResources", () => manager.AllocateGpuResources("training", isDashboard: false)),
            ("AllocateGpuResources (dashboard)", () => manager.AllocateGpuResources("dashboard", isDashboard: true)),
            ("RecordDevices", () => manager.RecordDevices()),
        };

        foreach (var (name, change) in changes)
        {
            var error = Assert.Throws<CorruptDocumentException>(change);

            Assert.True(bad.AsSpan().SequenceEqual(File.ReadAllBytes(_state.QuotasPath)), $"{name} changed the file");
            Assert.Equal(_state.QuotasPath, error.Path);
            Assert.Equal(ReadState.Corrupt, error.State);
            Assert.Equal("CorruptDocument", error.ErrorId);
            Assert.Contains(_state.QuotasPath, error.Message, StringComparison.Ordinal);
            Assert.Contains(error.Problem, error.Message, StringComparison.Ordinal);
            Assert.Contains("GPU quotas, GPU allocations and CPU and memory limits", error.Message, StringComparison.Ordinal);
            Assert.Contains("Fix the file", error.Message, StringComparison.Ordinal);
            Assert.Contains("remove it", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(ReadState.Corrupt, new StateDirectoryInspector().Inspect(_state).Documents.Single(d => d.Name == "resources/quotas.json").State);
    }

    [Fact(Timeout = 120_000)]
    public void Releasing_GPUs_past_a_quotas_file_that_cannot_be_read_changes_nothing_and_does_not_fail()
    {
        var bad = CorruptQuotas("bom");

        Gpus().ReleaseGpuResources("training");

        Assert.Equal(bad, File.ReadAllBytes(_state.QuotasPath));
    }

    [Fact(Timeout = 120_000)]
    public void Once_the_broken_quotas_file_is_removed_changes_start_from_an_empty_one()
    {
        CorruptQuotas("truncated");
        File.Delete(_state.QuotasPath);

        var limits = Gpus().SetResourceLimit("training", memoryLimitMb: 256);

        Assert.Equal(256, limits.MemoryLimitMb);
        Assert.Equal(ReadState.Ok, new StatusStore().Read<ResourceQuotas>(_state.QuotasPath).State);
    }
}
