namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>
/// The load tests (hundreds of connections, non-reading streams, RSS bounds, one-second answers) run alone, after the
/// parallel ones: on a small shared machine, other test classes' dashboards would otherwise be measured with them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadTestCollection
{
    public const string Name = "Load tests (run alone)";
}
