using StabilityTools.Engine.Resources;

namespace StabilityTools.Engine.Tests.Resources;

public sealed class GpuProbeTests
{
    [Fact(Timeout = 120_000)]
    public void Several_GPUs_and_their_processes_are_read_from_nvidia_smi()
    {
        using var smi = new FakeNvidiaSmi("a100x4");

        var snapshot = new NvidiaSmiProbe(smi.Path).Probe();

        Assert.Equal("nvidia-smi", snapshot.Source);
        Assert.Null(snapshot.Error);
        Assert.Equal([0, 1, 2, 3], snapshot.Devices.Select(d => d.Index));
        Assert.All(snapshot.Devices, d => Assert.Equal("NVIDIA A100-SXM4-80GB", d.Name));
        Assert.Equal(81920, snapshot.Devices[0].MemoryTotalMb);
        Assert.Equal(21533, snapshot.Devices[0].MemoryUsedMb);
        Assert.Equal(97, snapshot.Devices[0].UtilizationPercent);
        Assert.Equal([(24601, 0), (31877, 3), (31878, 3)], snapshot.Processes.Select(p => (p.Pid, p.DeviceIndex)));
        Assert.Equal(40956, snapshot.MemoryUsedBy([31877, 31878, 99]));
    }

    [Fact(Timeout = 120_000)]
    public void Output_with_header_and_units_and_an_empty_process_list_is_read()
    {
        using var smi = new FakeNvidiaSmi("t4-with-units");

        var snapshot = new NvidiaSmiProbe(smi.Path).Probe();

        var device = Assert.Single(snapshot.Devices);
        Assert.Equal("Tesla T4", device.Name);
        Assert.Equal(15360, device.MemoryTotalMb);
        Assert.Equal(0, device.UtilizationPercent);
        Assert.Empty(snapshot.Processes);
    }

    [Fact(Timeout = 120_000)]
    public void Values_a_device_does_not_report_become_unknown_not_errors()
    {
        using var smi = new FakeNvidiaSmi("rtx3090-na");

        var snapshot = new NvidiaSmiProbe(smi.Path).Probe();

        Assert.Null(snapshot.Devices[0].UtilizationPercent);
        var process = Assert.Single(snapshot.Processes);
        Assert.Equal(4242, process.Pid);
        Assert.Null(process.UsedMemoryMb);
    }

    [Fact(Timeout = 120_000)]
    public void The_old_no_running_processes_line_means_no_processes()
    {
        using var smi = new FakeNvidiaSmi("a100x4", processesOverride: "No running processes found\n");

        Assert.Empty(new NvidiaSmiProbe(smi.Path).Probe().Processes);
    }

    [Fact(Timeout = 120_000)]
    public void A_failing_nvidia_smi_degrades_to_no_devices_with_the_reason()
    {
        using var smi = new FakeNvidiaSmi("a100x4", exitCode: 9);

        var snapshot = new NvidiaSmiProbe(smi.Path).Probe();

        Assert.Empty(snapshot.Devices);
        Assert.Contains("couldn't communicate with the NVIDIA driver", snapshot.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void Garbled_output_degrades_with_the_line_that_was_wrong()
    {
        Assert.Throws<FormatException>(() => NvidiaSmiParser.ParseDevices("0, GPU-x, T4\n"));
        using var smi = new FakeNvidiaSmi("a100x4", processesOverride: "1, 2\n");

        var snapshot = new NvidiaSmiProbe(smi.Path).Probe();

        Assert.Empty(snapshot.Devices);
        Assert.Contains("line 1 has 2 columns, expected 3", snapshot.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public void Without_NVML_the_detector_falls_back_to_nvidia_smi_on_PATH()
    {
        Assert.SkipWhen(NvmlProbe.TryCreate() is not null, "This machine has NVML; the fallback is not reachable here.");
        using var smi = new FakeNvidiaSmi("a100x4");
        var oldPath = Environment.GetEnvironmentVariable("PATH");
        try
        {
            Environment.SetEnvironmentVariable("PATH", smi.Directory + Path.PathSeparator + oldPath);
            var probe = GpuProbe.Detect(_ => null);
            Assert.IsType<NvidiaSmiProbe>(probe);
            Assert.Equal(4, probe.Probe().Devices.Count);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", oldPath);
        }
    }

    [Fact(Timeout = 120_000)]
    public void With_neither_NVML_nor_nvidia_smi_there_is_cleanly_no_GPU()
    {
        Assert.Null(NvmlProbe.TryCreate("libnvidia-ml-does-not-exist.so.1"));
        var probe = GpuProbe.Detect(key => key == GpuProbe.OverrideVariable ? "none" : null);

        Assert.IsType<NoGpuProbe>(probe);
        var snapshot = probe.Probe();
        Assert.Equal("none", snapshot.Source);
        Assert.Empty(snapshot.Devices);
        Assert.Null(snapshot.Error);
        Assert.Equal(0, snapshot.MemoryUsedBy([1, 2, 3]));
    }
}
