using System.Text.Json;
using StabilityTools.Engine.Status;

namespace StabilityTools.Trainer.Training;

/// <summary>A verified checkpoint: where it is, its metadata, and its model, optimizer and RNG state.</summary>
/// <param name="Path">The file.</param>
/// <param name="Metadata">The training position.</param>
/// <param name="ModelState">The model's state dictionary, TorchSharp format.</param>
/// <param name="OptimizerState">The optimizer's state, TorchSharp format.</param>
/// <param name="RngState">torch's CPU generator state.</param>
internal sealed record LoadedCheckpoint(string Path, CheckpointMetadata Metadata, byte[] ModelState, byte[] OptimizerState, byte[] RngState)
{
    /// <summary>The built-in trainer's reading of a verified container (<see cref="CheckpointStore.LoadNewestValid{T}"/>).</summary>
    /// <exception cref="InvalidDataException">Not three state blocks, or no metadata: unusable, as a damaged file is.</exception>
    public static LoadedCheckpoint Parse(string path, string metadataJson, IReadOnlyList<byte[]> blobs)
    {
        var metadata = JsonSerializer.Deserialize<CheckpointMetadata>(metadataJson, StatusJson.Options)
            ?? throw new InvalidDataException("empty metadata");
        if (blobs.Count != 3)
        {
            throw new InvalidDataException($"expected 3 state blocks, found {blobs.Count}");
        }

        return new LoadedCheckpoint(path, metadata, blobs[0], blobs[1], blobs[2]);
    }
}
