using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Status;

/// <summary>A quota's or limit's action; an unknown word reads as <see cref="QuotaAction.Warn"/>, the one action that changes nothing.</summary>
public sealed class QuotaActionConverter() : FallbackEnumConverter<QuotaAction>(QuotaAction.Warn);
