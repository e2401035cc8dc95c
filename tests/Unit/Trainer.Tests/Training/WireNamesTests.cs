using System.Text.Json;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests.Training;

/// <summary>The trainer's enums keep the status files' names (training_status.json, run.json, metrics.jsonl).</summary>
public sealed class WireNamesTests
{
    [Fact(Timeout = 300_000)]
    public void Trainer_states_and_metric_kinds_are_written_as_the_status_files_name_them()
    {
        Assert.Equal(
            ["starting", "running", "paused", "completed", "stopped", "failed"],
            Enum.GetValues<TrainerState>().Select(s => s.ToWire()));
        Assert.Equal(["epoch", "step"], Enum.GetValues<MetricKind>().Select(k => k.ToWire()));
    }

    [Fact(Timeout = 300_000)]
    public void Run_json_keeps_its_state_as_a_snake_case_string_and_reads_the_old_files()
    {
        var json = JsonSerializer.Serialize(new RunInfo { RunId = "run-1", State = TrainerState.Completed }, StatusJson.Options);

        Assert.Contains("\"state\":\"completed\"", json);
        var old = JsonSerializer.Deserialize<RunInfo>("""{"run_id":"run-1","fingerprint":"f","state":"running","created":"2026-11-29T10:00:00+00:00"}""", StatusJson.Options)!;
        Assert.Equal(TrainerState.Running, old.State);
    }
}
