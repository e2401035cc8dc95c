using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>A trainer's state; an unknown word reads as <see cref="TrainerState.Unknown"/>, so the rest of its document still shows.</summary>
public sealed class TrainerStateConverter() : FallbackEnumConverter<TrainerState>(TrainerState.Unknown);
