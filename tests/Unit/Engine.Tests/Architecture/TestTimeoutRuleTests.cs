using System.Text.RegularExpressions;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Architecture;

/// <summary>
/// Every xunit test is bounded: each <c>[Fact]</c> and <c>[Theory]</c> in tests/Unit names a <c>Timeout</c>, so a hung
/// child process or a wait that never ends fails that test instead of hanging the run. (xunit v3 enforces the timeout
/// on synchronous tests as well as asynchronous ones.)
/// </summary>
public sealed partial class TestTimeoutRuleTests
{
    [Fact(Timeout = 60_000)]
    public async Task Every_xunit_test_has_a_timeout()
    {
        var root = Path.Combine(RepositoryRoot.Path, "tests", "Unit");
        var unbounded = new List<string>();
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).Where(IsSource))
        {
            var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
            foreach (var (line, attribute) in TestAttributes(text))
            {
                count++;
                if (!HasTimeout(attribute))
                {
                    unbounded.Add($"{Path.GetRelativePath(RepositoryRoot.Path, file)}:{line}: {attribute}");
                }
            }
        }

        Assert.True(count > 100, $"Found only {count} test attributes under {root}.");
        Assert.True(unbounded.Count == 0,
            $"These tests have no timeout; give each one, e.g. [Fact(Timeout = 60_000)]:{Environment.NewLine}{string.Join(Environment.NewLine, unbounded)}");
    }

    [Fact(Timeout = 10_000)]
    public void The_rule_tells_a_bounded_test_from_an_unbounded_one()
    {
        const string source = """
            public class T
            {
                [Fact(Timeout = 5_000)] public void A() { }
                [Fact] public void B() { }
                [Theory, InlineData(1)] public void C(int x) { }
                [Fact(Skip = "not (Timeout = 1)")] public void D() { }
                // [Fact] in a comment is no test
                [Theory(Timeout = 1000)] [InlineData(2)] public void E(int x) { }
            }
            """;

        var attributes = TestAttributes(source).ToList();

        Assert.Equal([3, 4, 5, 6, 8], attributes.Select(a => a.Line));
        Assert.Equal([true, false, false, false, true], attributes.Select(a => HasTimeout(a.Attribute)));
    }

    private static bool IsSource(string path) =>
        !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    // Comments and string literals are stripped first, so neither a commented-out test nor a "Timeout =" inside a
    // Skip reason counts; line numbers survive the stripping.
    private static IEnumerable<(int Line, string Attribute)> TestAttributes(string text)
    {
        var code = CSharpSource.Strip(text);
        foreach (Match match in TestAttributePattern().Matches(code))
        {
            yield return (code[..match.Index].Count(c => c == '\n') + 1, match.Value);
        }
    }

    private static bool HasTimeout(string attribute) => TimeoutArgumentPattern().IsMatch(attribute);

    [GeneratedRegex(@"(?<=[\[,]\s*)(?:Fact|Theory)(?:Attribute)?\b(?:\s*\([^()]*\))?")]
    private static partial Regex TestAttributePattern();

    [GeneratedRegex(@"\bTimeout\s*=")]
    private static partial Regex TimeoutArgumentPattern();
}
