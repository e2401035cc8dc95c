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

    /// <summary>The variable that picks the supervisor the tests run: <c>native</c> (default) or <c>jit</c>.</summary>
    public const string SupervisorVariable = "STABILITY_TEST_SUPERVISOR";

    /// <summary>
    /// The supervisor under test: the native (AOT) executable that ships, as <c>build.ps1 Build</c> publishes it, or
    /// with <c>STABILITY_TEST_SUPERVISOR=jit</c> the framework-dependent <c>stability-supervisor.dll</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The native executable is missing or older than the build.</exception>
    public static string SupervisorPath
    {
        get
        {
            var jit = Metadata("SupervisorPath");
            if (string.Equals(Environment.GetEnvironmentVariable(SupervisorVariable), "jit", StringComparison.OrdinalIgnoreCase))
            {
                return jit;
            }

            string native;
            try
            {
                native = Metadata("NativeSupervisorPath");
            }
            catch (FileNotFoundException ex)
            {
                throw new InvalidOperationException(
                    $"The native supervisor '{ex.FileName}' is missing: run 'dotnet pwsh ./build.ps1 Build' (it publishes it), " +
                    $"or set {SupervisorVariable}=jit to test the framework-dependent build.", ex);
            }

            // A native build older than the assemblies it was made from would test yesterday's code.
            var built = new[] { jit, Path.Combine(Path.GetDirectoryName(jit)!, "StabilityTools.Engine.dll") }.Max(File.GetLastWriteTimeUtc);
            if (File.GetLastWriteTimeUtc(native) < built)
            {
                throw new InvalidOperationException(
                    $"The native supervisor '{native}' is older than the build in '{Path.GetDirectoryName(jit)}': run 'dotnet pwsh ./build.ps1 Build' " +
                    $"to publish it again, or set {SupervisorVariable}=jit.");
            }

            return native;
        }
    }

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

    /// <summary>Starts a program: a framework-dependent one (its .dll) under the dotnet host, a native one as is.</summary>
    public static Process Start(string path, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var isAssembly = path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(isAssembly ? DotNetHost : path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (isAssembly)
        {
            info.ArgumentList.Add(path);
        }

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

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {path}.");
    }
}
