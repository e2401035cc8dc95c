namespace StabilityTools.Trainer.Training;

/// <summary>A verified checkpoint: where it is, its metadata, and its model, optimizer and RNG state.</summary>
/// <param name="Path">The file.</param>
/// <param name="Metadata">The training position.</param>
/// <param name="ModelState">The model's state dictionary, TorchSharp format.</param>
/// <param name="OptimizerState">The optimizer's state, TorchSharp format.</param>
/// <param name="RngState">torch's CPU generator state.</param>
internal sealed record LoadedCheckpoint(string Path, CheckpointMetadata Metadata, byte[] ModelState, byte[] OptimizerState, byte[] RngState);
