using System.Diagnostics;
using System.Text.RegularExpressions;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>The Python writer printed in docs/status-files.md, run for real against the .NET store.</summary>
public sealed partial class PythonInteropTests : IDisposable
{
    private readonly TempDirectory _dir = new("st-py");

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 180_000)]
    public async Task The_documented_python_writer_and_the_store_share_one_lock_and_one_seq()
    {
        var python = FindPython();
        Assert.SkipWhen(python is null, "python3 is not installed: the documented Python writer was not run.");
        var ct = TestContext.Current.CancellationToken;
        var doc = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "docs", "status-files.md"), ct);
        var snippet = PythonBlock().Match(doc);
        Assert.True(snippet.Success, "docs/status-files.md has no ```python block");

        var path = _dir.File("training_status.json");
        var script = _dir.File("writer.py");
        await File.WriteAllTextAsync(script, snippet.Groups[1].Value + """

            import sys
            for i in range(int(sys.argv[2])):
                write_status(sys.argv[1], {"is_running": True, "current_epoch": i, "total_epochs": 10, "loss": float("nan"),
                                           "accuracy": 0.5, "model_path": "py"}, "training_status/1")
            """, ct);

        const int each = 300;
        var info = new ProcessStartInfo(python!) { RedirectStandardError = true };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(path);
        info.ArgumentList.Add(each.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var process = Process.Start(info)!;
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        for (var i = 0; i < each; i++)
        {
            store.Write(path, new TrainingStatus { CurrentEpoch = i, ModelPath = "dotnet" });
        }

        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync(ct));

        // Both writers took the same lock: no increment of seq was lost.
        var final = store.Read<TrainingStatus>(path);
        Assert.Equal(ReadState.Ok, final.State);
        Assert.Equal(2 * each, final.Document!.Seq);

        // And what Python writes alone reads back whole, NaN included.
        var pyOnly = _dir.File("py.json");
        var one = new ProcessStartInfo(python!);
        foreach (var a in new[] { script, pyOnly, "1" })
        {
            one.ArgumentList.Add(a);
        }

        using (var p = Process.Start(one)!)
        {
            await p.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        }

        var read = store.Read<TrainingStatus>(pyOnly);
        Assert.Equal(ReadState.Ok, read.State);
        Assert.True(double.IsNaN(read.Document!.Loss));
        Assert.Equal("py", read.Document.ModelPath);
        Assert.Equal(1, read.Document.Seq);
    }

    private static string? FindPython() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "python3"))
            .FirstOrDefault(File.Exists);

    [GeneratedRegex("```python\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex PythonBlock();
}
