using StabilityTools.Build;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Training;
using TorchSharp;

namespace StabilityTools.Trainer.Tests.Native;

public sealed class TorchSharpNativeTests
{
    private const string Library = "libstdc++.so.6";
    private const string Version = "GLIBCXX_3.4.32";

    private static string NativeIn(string directory) => Path.Combine(directory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static bool SystemLacksVersion()
    {
        var system = ElfWeakVersion.FindSystemLibrary(Library);
        return system is not null && !ElfWeakVersion.ReadDefinitions(File.ReadAllBytes(system)).Contains(Version);
    }

    private static ElfWeakVersion.Requirement Requirement(string path) =>
        ElfWeakVersion.ReadRequirements(File.ReadAllBytes(path)).Single(r => r.Library == Library && r.Version == Version);

    [Fact(Timeout = 300_000)]
    public void The_build_marks_the_GLIBCXX_3_4_32_requirement_weak_in_output_copies_only_where_libstdcxx_lacks_it()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("ELF libraries are a Linux matter.");
        }

        var trainerDirectory = Path.GetDirectoryName(TestPrograms.Metadata("TrainerPath"))!;
        var lacks = SystemLacksVersion();
        foreach (var copy in new[] { NativeIn(AppContext.BaseDirectory), NativeIn(trainerDirectory) })
        {
            Assert.True(File.Exists(copy), $"{copy} is missing");
            Assert.Equal(lacks, Requirement(copy).IsWeak);
        }

        // The package cache keeps the original.
        var original = TestPrograms.Metadata("TorchSharpPackageNative");
        Assert.False(Requirement(original).IsWeak);
    }

    [Fact(Timeout = 300_000)]
    public void Marking_the_requirement_weak_changes_that_one_flag_and_is_idempotent()
    {
        using var temp = new TempDirectory("st-elf");
        var original = TestPrograms.Metadata("TorchSharpPackageNative");
        var copy = temp.File("libLibTorchSharp.so");
        File.Copy(original, copy);
        var before = File.ReadAllBytes(copy);

        Assert.Equal(ElfPatchOutcome.Patched, ElfWeakVersion.MarkWeak(copy, Library, Version));
        var after = File.ReadAllBytes(copy);
        Assert.True(Requirement(copy).IsWeak);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.Equal([(int)Requirement(copy).FlagsOffset], changed);

        // Every other requirement keeps its flags.
        var others = ElfWeakVersion.ReadRequirements(after).Where(r => r.Version != Version).ToList();
        Assert.NotEmpty(others);
        Assert.All(others, r => Assert.False(r.IsWeak, $"{r.Library} {r.Version} became weak"));

        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfWeakVersion.MarkWeak(copy, Library, Version));
        Assert.Equal(after, File.ReadAllBytes(copy));
        Assert.Equal(ElfPatchOutcome.NotRequired, ElfWeakVersion.MarkWeak(copy, Library, "GLIBCXX_9.9.99"));

        // The source file was never touched.
        Assert.False(Requirement(original).IsWeak);
    }

    [Fact(Timeout = 300_000)]
    public void The_patched_copy_is_a_new_file_so_a_hard_link_into_the_package_cache_stays_intact()
    {
        using var temp = new TempDirectory("st-elf");
        var source = temp.File("source.so");
        File.Copy(TestPrograms.Metadata("TorchSharpPackageNative"), source);
        var link = temp.File("link.so");
        File.CreateSymbolicLink(link, source); // stand-in for a link; the patch must replace the name, not write through it

        ElfWeakVersion.MarkWeak(link, Library, Version);

        Assert.False(Requirement(source).IsWeak);
        Assert.True(Requirement(link).IsWeak);
        Assert.Null(new FileInfo(link).LinkTarget);
    }

    [Fact(Timeout = 300_000)]
    public void TorchSharp_loads_and_an_optimizer_step_reduces_the_loss()
    {
        TorchRuntime.EnsureInitialized();
        torch.random.manual_seed(1);
        using var model = torch.nn.Linear(4, 1);
        using var optimizer = torch.optim.Adam(model.parameters(), 0.05);
        using var x = torch.randn(64, 4);
        using var y = x.sum(1, keepdim: true);
        double Loss()
        {
            using var l = torch.nn.functional.mse_loss(model.forward(x), y);
            return l.item<float>();
        }

        var before = Loss();
        for (var i = 0; i < 20; i++)
        {
            optimizer.zero_grad();
            using var loss = torch.nn.functional.mse_loss(model.forward(x), y);
            loss.backward();
            optimizer.step();
        }

        Assert.True(Loss() < before * 0.8, $"loss {Loss()} did not drop from {before}");
    }
}
