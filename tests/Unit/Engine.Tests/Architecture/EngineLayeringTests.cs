using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Architecture;

/// <summary>
/// The Engine's namespaces form layers (docs/ARCHITECTURE.md, "The Engine's layers"): Models at the bottom, then
/// Errors, Platform, Status, State, Resources, Slurm, Services, and Training and Deployment on top. A cycle would
/// make two of them one concept in two folders; this keeps the graph acyclic.
/// </summary>
public sealed class EngineLayeringTests
{
    [Fact(Timeout = 60_000)]
    public async Task The_engine_namespaces_use_one_another_without_a_cycle()
    {
        var graph = new NamespaceGraph(await EngineSourcesAsync());

        var cycle = graph.FindCycle();

        Assert.True(cycle is null, cycle is null ? "" :
            $"The Engine's namespaces form a cycle; move the type that closes it to the lower layer, or the behaviour that needs the higher one up:{Environment.NewLine}{graph.Describe(cycle)}");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_documents_in_models_use_no_other_engine_namespace()
    {
        var graph = new NamespaceGraph(await EngineSourcesAsync());

        var uses = graph.Uses("StabilityTools.Engine.Models");

        Assert.True(uses.Count == 0, $"Models (the protocol's documents) must depend on nothing above them: {string.Join("; ", uses.Select(u => $"{u} ({graph.Why("StabilityTools.Engine.Models", u)})"))}");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_graph_sees_the_engine_edges_that_exist()
    {
        // Guards the scan itself: were it to miss every use, the cycle test above would pass on anything.
        var graph = new NamespaceGraph(await EngineSourcesAsync());

        Assert.Contains("StabilityTools.Engine.Models", graph.Uses("StabilityTools.Engine.Status"));
        Assert.Contains("StabilityTools.Engine.Slurm", graph.Uses("StabilityTools.Engine.Services"));
        Assert.Contains("StabilityTools.Engine.Status", graph.Uses("StabilityTools.Engine.State"));
    }

    [Fact(Timeout = 10_000)]
    public void A_cycle_through_a_using_an_enclosing_namespace_or_a_qualified_name_is_found()
    {
        var graph = new NamespaceGraph(
        [
            ("A/One.cs", "using N.B;\nnamespace N.A;\n// C uses nothing here: Gamma\npublic class One { Two t; string s = \"Gamma\"; }"),
            ("B/Two.cs", "namespace N.B;\npublic class Two { object o = C.Three.Make(); }"),
            ("C/Three.cs", "namespace N.C;\npublic class Three { string s = $\"{A.One.Name}\"; public static object Make() => null; }"),
        ]);

        var cycle = graph.FindCycle();

        Assert.Equal(["N.A", "N.B", "N.C", "N.A"], cycle);
        Assert.Contains("One.cs uses Two", graph.Describe(cycle!));
    }

    [Fact(Timeout = 10_000)]
    public void Names_in_comments_strings_and_member_accesses_are_no_edge()
    {
        var graph = new NamespaceGraph(
        [
            ("A/One.cs", "namespace N.A;\n/* Two */ public class One { string s = @\"Two \"\" Two\"; char c = '\\''; int x = y.Two; } // Two"),
            ("B/Two.cs", "using N.A;\nnamespace N.B;\npublic class Two { One o; }"),
        ]);

        Assert.Null(graph.FindCycle());
        Assert.Empty(graph.Uses("N.A"));
        Assert.Equal(["N.A"], graph.Uses("N.B"));
    }

    private static async Task<IReadOnlyList<(string Path, string Text)>> EngineSourcesAsync()
    {
        var root = Path.Combine(RepositoryRoot.Path, "src", "Engine");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var sources = new List<(string, string)>();
        foreach (var file in files)
        {
            sources.Add((file, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken)));
        }

        Assert.True(sources.Count > 50, $"Found only {sources.Count} files under {root}.");
        return sources;
    }
}
