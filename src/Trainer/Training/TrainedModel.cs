using System.Text.Json;
using StabilityTools.Engine.Status;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Modeling;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// A final model (<c>models/&lt;run&gt;/model-final.bin</c>): the weights plus everything needed to use them
/// (model shape, window, feature standardisation), in the verified checkpoint container.
/// </summary>
internal sealed class TrainedModel : IDisposable
{
    private readonly MarketModel _model;

    private TrainedModel(MarketModel model, ModelFileMetadata metadata)
    {
        _model = model;
        Metadata = metadata;
    }

    /// <summary>What the file says about the model.</summary>
    public ModelFileMetadata Metadata { get; }

    /// <summary>Writes a final model file atomically.</summary>
    public static void Save(string path, MarketModel model, ModelFileMetadata metadata) =>
        CheckpointFile.Write(path, JsonSerializer.Serialize(metadata, StatusJson.Options), [TorchState.Save(model)]);

    /// <summary>Loads a final model file onto the CPU.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or not a model.</exception>
    public static TrainedModel Load(string path)
    {
        var (json, blobs) = CheckpointFile.Read(path);
        var metadata = JsonSerializer.Deserialize<ModelFileMetadata>(json, StatusJson.Options)
            ?? throw new InvalidDataException("empty metadata");
        if (metadata.Kind != ModelFileMetadata.FinalModelKind || blobs.Count != 1)
        {
            throw new InvalidDataException($"'{path}' is not a final model file");
        }

        var model = new MarketModel(metadata.Model, metadata.Window);
        TorchState.Load(model, blobs[0]);
        model.eval();
        return new TrainedModel(model, metadata);
    }

    /// <summary>Probability that the bar after each window closes higher; windows are standardised [window × channels].</summary>
    public float[] PredictUp(IReadOnlyList<float[]> windows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var flat = windows.SelectMany(w => w).ToArray();
        var input = tensor(flat, [windows.Count, Metadata.Window, FeatureSet.Channels]);
        return _model.forward(input).sigmoid().data<float>().ToArray();
    }

    /// <summary>Probability that the bar after <paramref name="t"/> closes higher, from raw bars.</summary>
    public float PredictUp(IReadOnlyList<Engine.Models.MarketBar> bars, int t) =>
        PredictUp([FeatureSet.WindowAt(bars, t, Metadata.Window, Metadata.Normalization)])[0];

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}
