namespace StabilityTools.Bench;

/// <summary>Status-store benchmark (issue #2). Filled in by the foundation work.</summary>
internal static class StoreBench
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("store benchmark: not written yet");
        return Task.FromResult(64);
    }
}
