using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Resources;

/// <summary>
/// An <c>nvidia-smi</c> on disk that replays captured output formats (tests/Unit/Engine.Tests/Resources/Fixtures):
/// the real program's arguments pick the file, so the probe runs its real process-and-parse path.
/// </summary>
internal sealed class FakeNvidiaSmi : IDisposable
{
    private readonly TempDirectory _dir = new("st-smi");

    public FakeNvidiaSmi(string fixture, string? processesOverride = null, int exitCode = 0)
    {
        var fixtures = System.IO.Path.Combine(AppContext.BaseDirectory, "Resources", "Fixtures");
        var gpus = File.ReadAllText(System.IO.Path.Combine(fixtures, $"{fixture}.query-gpu.csv"));
        var apps = processesOverride ?? File.ReadAllText(System.IO.Path.Combine(fixtures, $"{fixture}.query-compute-apps.csv"));
        File.WriteAllText(_dir.File("gpus.csv"), gpus);
        File.WriteAllText(_dir.File("apps.csv"), apps);
        System.IO.Directory.CreateDirectory(_dir.File("bin"));
        Path = _dir.File("bin", "nvidia-smi");
        File.WriteAllText(Path, $$"""
            #!/bin/sh
            # Fake nvidia-smi replaying captured CSV output.
            if [ {{exitCode}} -ne 0 ]; then echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2; exit {{exitCode}}; fi
            case "$1" in
              --query-gpu=*) cat '{{_dir.File("gpus.csv")}}' ;;
              --query-compute-apps=*) cat '{{_dir.File("apps.csv")}}' ;;
              *) echo "unexpected arguments: $*" >&2; exit 2 ;;
            esac
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>Rewrites the process list, e.g. to make a service's pid hold more GPU memory.</summary>
    public void SetProcesses(string csv) => File.WriteAllText(_dir.File("apps.csv"), csv);

    public void Dispose() => _dir.Dispose();
}
