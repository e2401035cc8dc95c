using System.Globalization;
using System.Text;
using StabilityTools.Dashboard.Telemetry;

namespace StabilityTools.Dashboard.Api;

/// <summary>
/// <c>/metrics</c> in the Prometheus text exposition format 0.0.4: training, model, process and dashboard
/// gauges under <c>stability_*</c>, and GPU device gauges under the names NVIDIA's DCGM exporter uses
/// (<c>DCGM_FI_DEV_FB_USED</c> and friends, memory in MiB) so existing Grafana boards pick them up.
/// </summary>
internal static class PrometheusExporter
{
    public const string ContentType = "text/plain; version=0.0.4";

    public static string Export(DashboardViews views, RequestStats stats)
    {
        var w = new Writer();
        var status = views.Status();
        var training = status.Training;

        w.Gauge("stability_dashboard_up", "1 while the dashboard serves.", 1);
        w.Gauge("stability_dashboard_state_directory_connected", "1 when the state directory exists.", status.Dashboard.IsConnected ? 1 : 0);
        w.Counter("stability_dashboard_requests_total", "HTTP requests served since start.", stats.Requests);
        w.Counter("stability_dashboard_errors_total", "Server errors and failed background operations since start.", status.Dashboard.ErrorCount);
        w.Gauge("stability_dashboard_stream_clients", "Open Server-Sent-Events streams.", stats.Streams);
        w.Counter("stability_dashboard_slow_streams_closed_total", "Streams disconnected for taking longer than the send timeout for one message.", stats.SlowStreamsClosed);
        w.Gauge("stability_dashboard_request_latency_p50_seconds", "Median request latency over the recent window.", status.Dashboard.RequestLatencyP50Ms / 1000);
        w.Gauge("stability_dashboard_request_latency_p95_seconds", "95th percentile request latency over the recent window.", status.Dashboard.RequestLatencyP95Ms / 1000);
        w.Gauge("stability_dashboard_update_lag_p95_seconds", "95th percentile time from a file's write to the dashboard's cache.", status.Dashboard.UpdateLagP95Ms / 1000);

        w.Header("stability_status_file_state", "1 for the state each status file is in (ok, stale, missing, corrupt, oversized, unreadable).", "gauge");
        w.Sample("stability_status_file_state", [("file", training.Status.File), ("state", training.Status.State)], 1);
        w.Sample("stability_status_file_state", [("file", training.ModelMetrics.File), ("state", training.ModelMetrics.State)], 1);
        var market = views.Market();
        w.Sample("stability_status_file_state", [("file", market.File), ("state", market.State)], 1);
        var resources = views.Resources();
        w.Sample("stability_status_file_state", [("file", resources.File), ("state", resources.State)], 1);

        if (training.Status.Document is { } t)
        {
            (string, string)[] run = [("run_id", t.RunId ?? "")];
            w.Gauge("stability_training_running", "1 while training is in progress.", t.IsRunning ? 1 : 0, run);
            w.Gauge("stability_training_stale", "1 when a running trainer's heartbeat is older than the bound.", training.State == "stale" ? 1 : 0, run);
            w.Gauge("stability_training_epoch", "The epoch in progress.", t.CurrentEpoch, run);
            w.Gauge("stability_training_total_epochs", "Epochs in the run.", t.TotalEpochs, run);
            w.Gauge("stability_training_step", "Optimizer steps so far.", t.Step, run);
            w.Gauge("stability_training_total_steps", "Optimizer steps in the run.", t.TotalSteps, run);
            w.Gauge("stability_training_loss", "The latest training loss.", t.Loss, run);
            w.Gauge("stability_training_accuracy", "The latest validation accuracy (0..1).", t.Accuracy, run);
            if (t.ValLoss is { } valLoss)
            {
                w.Gauge("stability_training_val_loss", "The latest validation loss.", valLoss, run);
            }

            w.Gauge("stability_training_samples_per_second", "Training throughput.", t.SamplesPerSec, run);
            if (t.EtaSeconds is { } eta)
            {
                w.Gauge("stability_training_eta_seconds", "Estimated time to the end of the run.", eta, run);
            }

            if (training.HeartbeatAgeSeconds is { } age)
            {
                w.Gauge("stability_training_heartbeat_age_seconds", "Age of the trainer's last heartbeat.", age, run);
            }
        }

        if (training.ModelMetrics.Document is { } m)
        {
            (string, string)[] run = [("run_id", m.RunId ?? "")];
            w.Gauge("stability_model_val_accuracy", "Validation accuracy after the last epoch.", m.ValAccuracy, run);
            w.Gauge("stability_model_best_val_accuracy", "Best validation accuracy so far.", m.BestValAccuracy, run);
            w.Gauge("stability_model_val_loss", "Validation loss after the last epoch.", m.ValLoss, run);
            w.Gauge("stability_model_parameters", "Trainable parameters.", m.Parameters, run);
        }

        var processes = views.Processes().Services;
        if (processes.Count > 0)
        {
            w.Header("stability_process_up", "1 when the service is running (per its supervisor).", "gauge");
            foreach (var p in processes)
            {
                w.Sample("stability_process_up", [("service", p.Name), ("kind", p.Kind)], p.State == "running" ? 1 : 0);
            }

            w.Header("stability_process_state", "1 for the lifecycle state each service is in.", "gauge");
            foreach (var p in processes)
            {
                w.Sample("stability_process_state", [("service", p.Name), ("state", p.State)], 1);
            }

            Each(w, processes, "stability_process_restarts", "Restarts since the service was started.", p => p.Restarts);
            Each(w, processes, "stability_process_cpu_percent", "CPU use of the service's process tree, percent of one core.", p => p.CpuPercent);
            Each(w, processes, "stability_process_resident_memory_bytes", "Resident memory of the service's process tree.", p => p.MemoryMb * 1048576);
            Each(w, processes, "stability_process_gpu_memory_bytes", "GPU memory used by the service's processes.", p => p.GpuMemoryMb * 1048576);
            Each(w, processes, "stability_process_uptime_seconds", "Time since the service process started.", p => p.UptimeSeconds);
            Each(w, processes, "stability_process_heartbeat_age_seconds", "Age of the supervisor's last heartbeat.", p => p.HeartbeatAgeSeconds);
        }

        var devices = resources.Devices;
        if (devices.Count > 0)
        {
            (string, string)[] Labels(Engine.Models.GpuDevice d) =>
                [("gpu", d.Index.ToString(CultureInfo.InvariantCulture)), ("UUID", d.Uuid ?? ""), ("modelName", d.Name ?? "")];
            Device(w, devices, "DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", d => d.MemoryUsedMb, Labels);
            Device(w, devices, "DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", d => d.MemoryTotalMb - d.MemoryUsedMb, Labels);
            Device(w, devices, "DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", d => d.UtilizationPercent, Labels);
            Device(w, devices, "DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", d => d.TemperatureC, Labels);
            Device(w, devices, "DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", d => d.PowerWatts, Labels);
        }

        if (resources.Quotas.Count > 0)
        {
            w.Header("stability_gpu_quota_bytes", "GPU memory quota of a service.", "gauge");
            foreach (var q in resources.Quotas)
            {
                w.Sample("stability_gpu_quota_bytes", [("service", q.Service), ("device", q.Device?.ToString(CultureInfo.InvariantCulture) ?? "any")], q.MemoryMb * 1048576);
            }
        }

        return w.ToString();
    }

    private static void Each(Writer w, IReadOnlyList<ProcessView> processes, string name, string help, Func<ProcessView, double?> value)
    {
        var present = processes.Where(p => value(p) is not null).ToList();
        if (present.Count == 0)
        {
            return;
        }

        w.Header(name, help, "gauge");
        foreach (var p in present)
        {
            w.Sample(name, [("service", p.Name)], value(p)!.Value);
        }
    }

    private static void Device(Writer w, IReadOnlyList<Engine.Models.GpuDevice> devices, string name, string help,
        Func<Engine.Models.GpuDevice, double?> value, Func<Engine.Models.GpuDevice, (string, string)[]> labels)
    {
        var present = devices.Where(d => value(d) is not null).ToList();
        if (present.Count == 0)
        {
            return;
        }

        w.Header(name, help, "gauge");
        foreach (var d in present)
        {
            w.Sample(name, labels(d), value(d)!.Value);
        }
    }

    private sealed class Writer
    {
        private readonly StringBuilder _text = new();

        public void Gauge(string name, string help, double value, (string, string)[]? labels = null)
        {
            Header(name, help, "gauge");
            Sample(name, labels ?? [], value);
        }

        public void Counter(string name, string help, double value)
        {
            Header(name, help, "counter");
            Sample(name, [], value);
        }

        public void Header(string name, string help, string type) =>
            _text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n')
                 .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

        public void Sample(string name, (string Name, string Value)[] labels, double value)
        {
            _text.Append(name);
            if (labels.Length > 0)
            {
                _text.Append('{');
                for (var i = 0; i < labels.Length; i++)
                {
                    _text.Append(i == 0 ? "" : ",").Append(labels[i].Name).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
                }

                _text.Append('}');
            }

            _text.Append(' ').Append(Format(value)).Append('\n');
        }

        public override string ToString() => _text.ToString();

        private static string Escape(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

        private static string Format(double value) => value switch
        {
            double.PositiveInfinity => "+Inf",
            double.NegativeInfinity => "-Inf",
            _ when double.IsNaN(value) => "NaN",
            _ => value.ToString("R", CultureInfo.InvariantCulture),
        };
    }
}
