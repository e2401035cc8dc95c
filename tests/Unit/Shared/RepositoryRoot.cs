namespace StabilityTools.Tests.Shared;

/// <summary>The repository checkout the tests run from (the folder holding Engine.sln).</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Engine.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Engine.sln above {AppContext.BaseDirectory}.");
    }
}
