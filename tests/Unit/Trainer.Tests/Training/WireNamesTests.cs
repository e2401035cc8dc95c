using StabilityTools.Trainer.Training;

namespace StabilityTools.Trainer.Tests.Training;

/// <summary>The trainer's enums keep the status files' names (training_status.json, run.json, metrics.jsonl).</summary>
public sealed class WireNamesTests
{
    [Fact(Timeout = 300_000)]
    public void Trainer_states_and_metric_kinds_are_written_as_the_status_files_name_them()
    {
        Assert.Equal(["epoch", "step"], Enum.GetValues<MetricKind>().Select(k => k.ToWire()));
    }
}
