namespace StabilityTools.Reporting;

/// <summary>A checkpoint <see cref="StabilityRun.Resume{T}"/> loaded.</summary>
/// <typeparam name="T">What the loader made of the saved stream.</typeparam>
/// <param name="State">What the loader returned.</param>
/// <param name="Epoch">Epochs done when it was saved.</param>
/// <param name="Step">The step counter when it was saved.</param>
/// <param name="Path">The file.</param>
public sealed record Checkpoint<T>(T State, int Epoch, long Step, string Path);
