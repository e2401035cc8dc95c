using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>Runs on disk as the start and the trainer leave them: <c>runs/&lt;id&gt;/run.json</c> and <c>metrics.jsonl</c>, written through the engine's writers.</summary>
internal static class SampleRuns
{
    private static readonly StatusStore Store = new(new StatusStoreOptions { Fsync = false });

    /// <summary>Writes run <paramref name="runId"/>'s record with the given settings and final metrics.</summary>
    public static TrainingRun WriteRun(StateDirectory state, string runId, double learningRate, string experiment = "exp", string runState = RunStates.Completed,
        int created = 0, IReadOnlyDictionary<string, double>? final = null)
    {
        var paths = state.EnsureRun(runId);
        var start = SampleState.Start.AddMinutes(created);
        return Store.Write(paths.RunInfoPath, new TrainingRun
        {
            RunId = runId,
            Service = "training",
            Experiment = experiment,
            Tags = ["sample"],
            State = runState,
            Created = start,
            Started = start,
            Ended = RunStates.IsFinished(runState) ? start.AddMinutes(10) : null,
            Attempts = 1,
            Epochs = 5,
            Parameters = new Dictionary<string, JsonElement>
            {
                ["training.learning_rate"] = JsonSerializer.SerializeToElement(learningRate),
                ["training.batch_size"] = JsonSerializer.SerializeToElement(64),
                ["model.name"] = JsonSerializer.SerializeToElement("mlp"),
            },
            Final = final ?? new Dictionary<string, double> { ["val_loss"] = learningRate * 10, ["val_accuracy"] = 1 - learningRate },
            Best = final ?? new Dictionary<string, double> { ["val_loss"] = learningRate * 9, ["val_accuracy"] = 1 - learningRate / 2 },
        });
    }

    /// <summary>
    /// Appends <paramref name="count"/> step records (loss falling from 2, a <c>grad_norm</c> scalar) from step
    /// <paramref name="firstStep"/>, one second apart, and an epoch record every 1,000 steps; <paramref name="spikeAt"/>
    /// makes one step's loss 1,000.
    /// </summary>
    public static void AppendSteps(StateDirectory state, string runId, int count, long firstStep = 0, long? spikeAt = null)
    {
        var log = new JsonLinesLog<MetricRecord>(state.Run(runId).MetricsLogPath, new JsonLinesOptions { MaxFileBytes = 1L << 30 });
        const int batch = 10_000;
        for (var from = firstStep; from < firstStep + count; from += batch)
        {
            var records = new List<MetricRecord>(batch + 10);
            for (var step = from; step < Math.Min(from + batch, firstStep + count); step++)
            {
                records.Add(new MetricRecord
                {
                    Time = SampleState.Start.AddSeconds(step),
                    RunId = runId,
                    Kind = MetricKind.Step,
                    Epoch = (int)(step / 1000) + 1,
                    Step = step,
                    TrainLoss = step == spikeAt ? 1000 : 2.0 / (1 + step / (100.0 * Pace(runId))),
                    LearningRate = 0.01,
                    Scalars = new Dictionary<string, double> { ["grad_norm"] = 1 + (step % 7) / 10.0 },
                });
                if (step % 1000 == 999)
                {
                    records.Add(new MetricRecord
                    {
                        Time = SampleState.Start.AddSeconds(step), RunId = runId, Kind = MetricKind.Epoch, Epoch = (int)(step / 1000) + 1, Step = step,
                        TrainLoss = 1.0 / (1 + step / 1000.0), ValLoss = 1.1 / (1 + step / 1000.0), ValAccuracy = 0.5 + step / 1e6 * Pace(runId),
                    });
                }
            }

            log.AppendRange(records);
        }
    }

    // Runs learn at different paces (by the id's last digit), so overlaid curves are told apart in a screenshot.
    private static double Pace(string runId) => char.IsAsciiDigit(runId[^1]) ? 1 + (runId[^1] - '0') / 2.0 : 1;
}
