namespace StabilityTools.Engine.State;

/// <summary>A read-only look at a state directory: where it is, its services and the health of every document.</summary>
/// <param name="Root">The state directory.</param>
/// <param name="Exists">True when it exists.</param>
/// <param name="Services">The services that have a directory in it.</param>
/// <param name="Documents">Every known document, with what a reader finds in it.</param>
public sealed record StateDirectoryReport(string Root, bool Exists, IReadOnlyList<string> Services, IReadOnlyList<DocumentHealth> Documents)
{
    /// <summary>Whether the directory may be used: every cmdlet, supervisor and host refuses an untrusted one (<see cref="StateTrust"/>).</summary>
    public TrustVerdict? Trust { get; init; }
}
