using System.Diagnostics;
using System.Reflection;

namespace StabilityTools.Tests.Shared;

/// <summary>Finds and starts the programs the tests drive for real (the dummy, the built hosts).</summary>
public static class TestPrograms
{
    /// <summary>The <c>dotnet</c> host that runs framework-dependent programs.</summary>
    public static string DotNetHost { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : "dotnet";

    /// <summary>The built <c>stability-dummy.dll</c>.</summary>
    public static string DummyPath => Metadata("DummyPath");

    /// <summary>A value the test project recorded at build time (see its .csproj).</summary>
    public static string Metadata(string key)
    {
        var value = typeof(TestPrograms).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value
            ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata.");
        var full = Path.GetFullPath(value);
        return File.Exists(full) || Directory.Exists(full)
            ? full
            : throw new FileNotFoundException($"'{key}' points at '{full}', which does not exist. Build the solution first.", full);
    }

    /// <summary>Starts the dummy with <paramref name="arguments"/>, stdout and stderr redirected.</summary>
    public static Process StartDummy(params string[] arguments) => Start(DummyPath, arguments);

    /// <summary>Starts a framework-dependent program (its .dll) under the dotnet host.</summary>
    public static Process Start(string dllPath, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(DotNetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dllPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {dllPath}.");
    }
}
