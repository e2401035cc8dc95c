namespace StabilityTools.Engine.Tests.Architecture;

/// <summary>
/// Which namespace uses which, built from source text: an edge A → B for every type declared in B that a file of A
/// names where C# would find it (B imported with <c>using</c>, B enclosing A, or the name qualified with B's tail, e.g.
/// <c>Status.Liveness</c>). A name that only a member shares (<c>spec.Slurm</c>) is no use of the type.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly Dictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);

    /// <summary>Builds the graph of the files <paramref name="sources"/> (path and text), among the namespaces they declare.</summary>
    public NamespaceGraph(IEnumerable<(string Path, string Text)> sources)
    {
        var files = sources.Select(s =>
        {
            var code = CSharpSource.Strip(s.Text);
            return (s.Path, Code: code, Namespace: CSharpSource.Namespace(code));
        }).ToList();

        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            _edges.TryAdd(file.Namespace, new SortedDictionary<string, string>(StringComparer.Ordinal));
            foreach (var type in CSharpSource.DeclaredTypes(file.Code))
            {
                if (!declaredIn.TryGetValue(type, out var namespaces))
                {
                    declaredIn[type] = namespaces = new HashSet<string>(StringComparer.Ordinal);
                }

                namespaces.Add(file.Namespace);
            }
        }

        foreach (var file in files)
        {
            var usings = CSharpSource.Usings(file.Code).ToHashSet(StringComparer.Ordinal);
            foreach (var name in CSharpSource.Names(file.Code).Distinct(StringComparer.Ordinal))
            {
                var parts = name.Split('.');
                for (var k = 0; k < parts.Length; k++)
                {
                    var qualifier = string.Join('.', parts[..k]);
                    if (k > 0 && !IsNamespaceQualifier(qualifier, declaredIn))
                    {
                        // "x.Name" where x is a variable or a type: a member, not a type use.
                        break;
                    }

                    foreach (var target in declaredIn.GetValueOrDefault(parts[k]) ?? [])
                    {
                        if (target != file.Namespace && Visible(target, file.Namespace, usings, qualifier))
                        {
                            _edges[file.Namespace].TryAdd(target, $"{Path.GetFileName(file.Path)} uses {parts[k]}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>The namespaces the graph knows, sorted.</summary>
    public IReadOnlyList<string> Namespaces => [.. _edges.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The namespaces <paramref name="from"/> uses, sorted.</summary>
    public IReadOnlyList<string> Uses(string from) => _edges.TryGetValue(from, out var uses) ? [.. uses.Keys] : [];

    /// <summary>Why <paramref name="from"/> uses <paramref name="to"/>: the first file and type found.</summary>
    public string Why(string from, string to) => _edges[from][to];

    /// <summary>A cycle (its namespaces, the first repeated at the end), or null when the graph is acyclic.</summary>
    public IReadOnlyList<string>? FindCycle()
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the path, 2 done
        var path = new List<string>();

        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in Uses(node))
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path[path.IndexOf(next)..], next];
                }

                if (state.GetValueOrDefault(next) == 0 && _edges.ContainsKey(next) && Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }

        foreach (var node in Namespaces)
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    /// <summary>The cycle written out edge by edge with the reason for each, for a failure message.</summary>
    public string Describe(IReadOnlyList<string> cycle) =>
        string.Join(Environment.NewLine, cycle.Zip(cycle.Skip(1), (a, b) => $"  {a} -> {b} ({Why(a, b)})"));

    private bool IsNamespaceQualifier(string qualifier, Dictionary<string, HashSet<string>> declaredIn) =>
        !declaredIn.ContainsKey(qualifier) && _edges.Keys.Any(n => ("." + n + ".").Contains("." + qualifier + ".", StringComparison.Ordinal));

    // C# finds a type of namespace T from a file of namespace F when F imports T, when T encloses F, or when the name
    // is qualified with T (whole, or its tail relative to an enclosing namespace, e.g. "Status." inside the Engine).
    private static bool Visible(string target, string from, HashSet<string> usings, string qualifier) =>
        qualifier.Length == 0
            ? usings.Contains(target) || from.StartsWith(target + ".", StringComparison.Ordinal)
            : target == qualifier || target.EndsWith("." + qualifier, StringComparison.Ordinal);
}
