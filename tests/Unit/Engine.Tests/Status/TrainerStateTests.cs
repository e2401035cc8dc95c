using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Engine.Training;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>A trainer's state is a type in the code and the same words in training_status.json; a word from a newer writer costs no status.</summary>
public sealed class TrainerStateTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(TrainerState.Starting, "starting")]
    [InlineData(TrainerState.Running, "running")]
    [InlineData(TrainerState.Paused, "paused")]
    [InlineData(TrainerState.Completed, "completed")]
    [InlineData(TrainerState.Stopped, "stopped")]
    [InlineData(TrainerState.Failed, "failed")]
    [InlineData(TrainerState.Unknown, "unknown")]
    public void A_state_is_written_as_the_word_it_always_was_and_reads_back(TrainerState state, string word)
    {
        var json = JsonSerializer.Serialize(new TrainingStatus { State = state }, StatusJson.TypeInfo<TrainingStatus>());

        Assert.Contains($"\"state\":\"{word}\"", json, StringComparison.Ordinal);
        Assert.Equal(state, JsonSerializer.Deserialize(json, StatusJson.TypeInfo<TrainingStatus>())!.State);
        Assert.Equal(word, StatusJson.WireName(state));
    }

    [Fact(Timeout = 120_000)]
    public void A_status_with_a_state_this_version_does_not_know_reads_as_unknown_and_is_reported_with_the_rest()
    {
        using var temp = new TempDirectory();
        var state = StateDirectory.Open(temp.Path);
        var shared = new SharedDataManager(state, run: state.EnsureRun("run-1"));
        shared.WriteTrainingStatus(new TrainingStatus
        {
            State = TrainerState.Running, IsRunning = true, CurrentEpoch = 3, TotalEpochs = 4, Step = 30, TotalSteps = 40, Heartbeat = DateTimeOffset.UtcNow,
        });
        var path = shared.Run!.TrainingStatusPath;
        // What a newer trainer (or a program of the user's own) might write.
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"state\":\"running\"", "\"state\":\"evaluating\"", StringComparison.Ordinal));

        var read = shared.ReadTrainingStatus();
        var report = new TrainingMonitor(state, runId: "run-1").GetStatus();

        Assert.Equal((ReadState.Ok, TrainerState.Unknown, 3), (read.State, read.Document!.State, read.Document.CurrentEpoch));
        Assert.Equal(("unknown", TrainerState.Unknown, ReadState.Ok, null), (report.State, report.TrainerState, report.ReadState, report.ReadError));
        Assert.Equal((3, 4, 0.75, false), (report.Epoch, report.TotalEpochs, report.PercentComplete, report.IsStale));
    }
}
